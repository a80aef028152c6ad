"""SAM-CL's auxiliary network A: maps a (B, C, H, W) class map to 4 scales.

- s0: the map itself (C channels, full resolution);
- s1, s2: down-convolution blocks ``1x1 conv -> norm -> ReLU -> 3x3 stride-2 conv -> norm -> ReLU``
  (H/2 then H/4);
- s3: a final conv block ``3x3 conv -> norm -> ReLU`` at H/4.

Width = number of input classes by default; spectral normalisation of every convolution optional.

**Batched triplet pass.** :meth:`AuxiliaryNetwork.forward_triplet` runs Y, Y+ and Y- through the
network as one concatenated batch (one set of kernels instead of three). That is only equal to three
separate passes if no layer mixes statistics across the three maps, so the normalisation is chosen
with that in mind:

- ``norm="instance"`` (default): ``GroupNorm(width, width)``, i.e. per-sample, per-channel
  statistics. Every sample is normalised on its own, so concatenating the three maps changes
  nothing, and training and evaluation behave alike (no running statistics).
- ``norm="group"``: ``GroupNorm(g, width)`` (per-sample as well, g groups).
- ``norm="batch"``: batch norm whose statistics are computed separately for each of the three
  chunks (a loop over the chunks inside the layer), exactly what three separate passes compute,
  running statistics included.
- ``norm="none"``.

A plain ``BatchNorm2d`` over the concatenated batch would mix the statistics of the prediction and
of the two one-hot maps and is therefore not offered. With ``spectral_norm=True`` the power
iteration runs once per call, so in training mode one batched call and three separate calls do
differ (by the extra power-iteration steps); in eval mode they agree.

**Cost** (what decides SAM-CL's overhead; see ``benchmarks/bench_train_step.py``). Only the first
block touches full-resolution maps. For Y (a soft map) it runs as written, on B maps rather than 3B.
For Y+ and Y- (one-hot maps) :meth:`AuxiliaryNetwork.forward_triplet_labels` uses an exact
shortcut: a 1x1 conv of a one-hot map only picks one weight column per class, so per-sample norm
statistics follow from the class counts, ``ReLU(norm(1x1 conv))`` is a tiny per-sample table, and
table + stride-2 conv fold into one grouped 3x3 stride-2 conv of the (C+1)-channel one-hot labels
(the extra channel marks ignored pixels). So no norm, ReLU or 1x1 conv ever runs on
full-resolution Y+/Y- maps; the three maps are concatenated only at half resolution and go through
the rest of the network in one batched pass. Tests check the shortcut against the plain network
(values and gradients). Two CPU-specific choices: the 1x1 convs run as a batched matmul, and
3x3 convs go through channels-last (oneDNN is several times slower on NCHW maps with few channels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("instance", "group", "batch", "none")


class ChunkNorm(nn.Module):
    """A normalisation layer that never mixes statistics across the ``num_chunks`` equal batch chunks."""

    def __init__(self, kind: str, channels: int, groups: int | None = None):
        super().__init__()
        if kind not in NORMS:
            raise ValueError(f"unknown norm {kind!r}; choose one of {NORMS}")
        self.kind = kind
        self.norm: nn.Module
        if kind == "instance":
            self.norm = nn.GroupNorm(channels, channels)
        elif kind == "group":
            g = groups or _default_groups(channels)
            if channels % g:
                raise ValueError(f"group norm: {channels} channels do not split into {g} groups")
            self.norm = nn.GroupNorm(g, channels)
        elif kind == "batch":
            self.norm = nn.BatchNorm2d(channels)
        else:
            self.norm = nn.Identity()

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        if self.kind == "batch" and num_chunks > 1:
            return torch.cat([self.norm(part) for part in x.chunk(num_chunks, dim=0)], dim=0)
        return self.norm(x)


def _default_groups(channels: int) -> int:
    for g in (4, 3, 2):
        if channels % g == 0:
            return g
    return 1


def _conv(cin: int, cout: int, k: int, stride: int, bias: bool, sn: bool) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)
    if sn:
        nn.utils.parametrizations.spectral_norm(conv)  # parametrises conv itself (and returns it)
    return conv


def pointwise_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution computed as a batched matmul (weight broadcast over the batch).

    On CPU, oneDNN's 1x1 convolution with a handful of channels on NCHW maps is much slower than this
    (``benchmarks/README.md``, section 3).
    """
    n, c, h, w = x.shape
    out_c = weight.shape[0]
    wm = weight.reshape(1, out_c, c).expand(n, out_c, c)
    xm = x.reshape(n, c, h * w)
    if torch.is_autocast_enabled(x.device.type):
        dt = torch.get_autocast_dtype(x.device.type)
        xm, wm = xm.to(dt), wm.to(dt)
    out = torch.bmm(wm, xm).reshape(n, out_c, h, w)
    return out if bias is None else out + bias.to(out.dtype).view(1, -1, 1, 1)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int):
    """``F.conv2d``; on CPU an NCHW input goes through channels-last and back.

    oneDNN's backward pass for convolutions with a handful of channels is much faster in channels-last layout
    on CPU, the two layout conversions included (``benchmarks/README.md``, section 3).
    """
    if x.device.type == "cpu" and x.is_contiguous():
        out = F.conv2d(x.contiguous(memory_format=torch.channels_last), weight, bias, stride, padding)
        return out.contiguous()
    return F.conv2d(x, weight, bias, stride, padding)


class DownBlock(nn.Module):
    """``1x1 conv -> norm -> ReLU -> 3x3 stride-2 conv -> norm -> ReLU``.

    (N, cin, H, W) -> (N, cout, ceil(H/2), ceil(W/2)). ``front`` runs everything up to the
    stride-2 conv, ``back`` the last norm and ReLU (so a caller can assemble the first half in
    another way, see :meth:`AuxiliaryNetwork.forward_triplet_labels`).
    """

    def __init__(self, cin: int, cout: int, norm: str, spectral_norm: bool, groups: int | None = None):
        super().__init__()
        bias = norm == "none"
        self.pointwise = _conv(cin, cout, 1, 1, bias, spectral_norm)
        self.norm1 = ChunkNorm(norm, cout, groups)
        self.down = _conv(cout, cout, 3, 2, bias, spectral_norm)
        self.norm2 = ChunkNorm(norm, cout, groups)

    def front(self, x: torch.Tensor, num_chunks: int = 1, weights=None) -> torch.Tensor:
        w1, b1, wd, bd = weights if weights is not None else self.weights()
        # in-place ReLU: no norm here needs its output for the backward pass
        x = F.relu(self.norm1(pointwise_conv(x, w1, b1), num_chunks), inplace=True)
        return conv2d(x, wd, bd, stride=2, padding=1)

    def back(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        return F.relu(self.norm2(x, num_chunks), inplace=True)

    def weights(self):
        """(pointwise weight, bias, down weight, bias), read once (spectral norm recomputes on access)."""
        return self.pointwise.weight, self.pointwise.bias, self.down.weight, self.down.bias

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        return self.back(self.front(x, num_chunks), num_chunks)


class FinalBlock(nn.Module):
    """``3x3 conv -> norm -> ReLU`` at the same resolution."""

    def __init__(self, cin: int, cout: int, norm: str, spectral_norm: bool, groups: int | None = None):
        super().__init__()
        self.conv = _conv(cin, cout, 3, 1, norm == "none", spectral_norm)
        self.norm = ChunkNorm(norm, cout, groups)

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        return F.relu(self.norm(conv2d(x, self.conv.weight, self.conv.bias, 1, 1), num_chunks), inplace=True)


class AuxiliaryNetwork(nn.Module):
    """The auxiliary network A. ``forward(x)`` returns the list of ``num_scales`` maps [s0, s1, s2, s3].

    Args:
        in_channels: number of classes C of the maps it receives.
        width: channels of s1..s3 (default: ``in_channels``).
        num_scales: 1..4; scales beyond it are not built (1 means s0 only, no parameters).
        norm: 'instance' (default), 'group', 'batch' (per-chunk statistics) or 'none'.
        spectral_norm: wrap every convolution in spectral normalisation.
        groups: number of groups for ``norm='group'``.

    Shapes: (N, C, H, W) -> [(N, C, H, W), (N, w, H/2, W/2), (N, w, H/4, W/4), (N, w, H/4, W/4)]
    (sizes rounded up).
    """

    def __init__(
        self,
        in_channels: int,
        width: int | None = None,
        num_scales: int = 4,
        norm: str = "instance",
        spectral_norm: bool = False,
        groups: int | None = None,
    ):
        super().__init__()
        if not 1 <= num_scales <= 4:
            raise ValueError(f"num_scales must be 1..4, got {num_scales}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
        w = width or in_channels
        self.in_channels = in_channels
        self.width = w
        self.num_scales = num_scales
        self.norm = norm
        blocks: list[nn.Module] = []
        if num_scales >= 2:
            blocks.append(DownBlock(in_channels, w, norm, spectral_norm, groups))
        if num_scales >= 3:
            blocks.append(DownBlock(w, w, norm, spectral_norm, groups))
        if num_scales >= 4:
            blocks.append(FinalBlock(w, w, norm, spectral_norm, groups))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> list[torch.Tensor]:
        """All scales of ``x``; ``num_chunks`` tells 'batch' norm how many independent maps are stacked."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected (N, {self.in_channels}, H, W) maps, got {tuple(x.shape)}")
        if x.shape[0] % num_chunks:
            raise ValueError(f"batch of {x.shape[0]} does not split into {num_chunks} equal chunks")
        outs = [x]
        for block in self.blocks:
            x = block(x, num_chunks)
            outs.append(x)
        return outs

    def forward_triplet(
        self, y: torch.Tensor, y_pos: torch.Tensor, y_neg: torch.Tensor, batched: bool = True
    ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Scales of Y, Y+, Y-: a list of ``(A_k(Y), A_k(Y+), A_k(Y-))`` for k = 0..num_scales-1.

        ``batched=True`` runs one pass over the concatenated batch; ``False`` runs three passes.
        Both give the same result (see the module docstring).
        """
        if not batched:
            per_map = [self.forward(m) for m in (y, y_pos, y_neg)]
            return [tuple(per_map[i][k] for i in range(3)) for k in range(self.num_scales)]  # type: ignore[misc]
        dtype = torch.promote_types(y.dtype, y_pos.dtype)
        stacked = torch.cat([y.to(dtype), y_pos.to(dtype), y_neg.to(dtype)], dim=0)
        return [tuple(s.chunk(3, dim=0)) for s in self.forward(stacked, num_chunks=3)]  # type: ignore[misc]

    # -- fast path for one-hot inputs ------------------------------------------------------------
    def supports_label_path(self) -> bool:
        """Whether :meth:`forward_triplet_labels` can use the exact one-hot shortcut (per-sample norms)."""
        return self.norm in ("instance", "group", "none")

    def forward_triplet_labels(
        self, y: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
        """Like :meth:`forward_triplet` with ``Y+ = one_hot(labels)`` and ``Y- = one_hot(sigma(labels))``,
        without building those one-hot maps at full resolution.

        Args:
            y: (B, C, H, W) prediction map (zero on ignored pixels).
            labels: (B, H, W) int64 in ``[0, C]``, where ``C`` marks an ignored pixel (all-zero one-hot).
            sigma: (B, C) int64 derangements; Y-'s label at a pixel of class k is ``sigma[b, k]``.

        Returns the same list as :meth:`forward_triplet`, except that scale 0 holds ``(y, None, None)``
        (callers compute scale-0 distances from the labels directly).

        Why it is exact: on a one-hot map, the first block's ``1x1 conv`` takes one value per class,
        so its output at a pixel is a column of the weight matrix chosen by the label. The per-sample
        normalisation statistics are therefore functions of the class counts, and
        ``ReLU(norm(1x1 conv))`` is a per-sample table ``T_b[:, label]``. The stride-2 3x3 conv of
        that map equals a 3x3 stride-2 conv of the (C+1)-channel one-hot map with the per-sample
        kernel ``W_down @ T_b`` (zero padding maps to zero in both). So Y+ and Y- need only class
        counts, a tiny table and one grouped convolution of the one-hot labels, instead of a 1x1
        conv, a norm and a ReLU on full-resolution maps. Falls back to the generic batched pass
        when ``norm='batch'`` (its statistics span the batch).
        """
        b, c = y.shape[:2]
        if self.num_scales == 1:
            return [(y, None, None)]
        if not self.supports_label_path():
            ext = F.one_hot(labels, c + 1)[..., :c].permute(0, 3, 1, 2).to(y.dtype)
            sig_ext = torch.cat([sigma, torch.full((b, 1), c, dtype=sigma.dtype, device=sigma.device)], 1)
            neg_labels = torch.gather(sig_ext, 1, labels.reshape(b, -1)).reshape_as(labels)
            neg = F.one_hot(neg_labels, c + 1)[..., :c].permute(0, 3, 1, 2).to(y.dtype)
            scales = self.forward_triplet(y, ext, neg)
            return [(scales[0][0], None, None), *scales[1:]]

        blk: DownBlock = self.blocks[0]  # type: ignore[assignment]
        weights = blk.weights()
        w1, b1, wd, bd = weights
        y_half = blk.front(y, 1, weights)
        pos_neg = self._one_hot_front(labels, sigma, blk, w1, b1, wd, bd, c)
        stacked = torch.cat([y_half, pos_neg[:, 0].to(y_half.dtype), pos_neg[:, 1].to(y_half.dtype)], dim=0)
        x = blk.back(stacked, num_chunks=3)
        outs = [x]
        for block in self.blocks[1:]:
            x = block(x, num_chunks=3)
            outs.append(x)
        triplets: list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]] = [(y, None, None)]
        for out in outs:
            anchor, positive, negative = out.chunk(3, dim=0)
            triplets.append((anchor, positive, negative))
        return triplets

    def _one_hot_front(self, labels, sigma, blk: DownBlock, w1, b1, wd, bd, c: int) -> torch.Tensor:
        """(B, 2, width, H/2, W/2): the first block up to its stride-2 conv, for Y+ (index 0) and Y- (1)."""
        b, h, w = labels.shape
        dev = labels.device
        width = w1.shape[0]
        dt = torch.float64 if w1.dtype == torch.float64 else torch.float32
        with torch.autocast(device_type=dev.type, enabled=False):
            w1m = w1.to(dt).reshape(width, c)
            # z-value of each class column, for Y+ (class k -> column k) and Y- (class k -> column sigma[k]);
            # column c (ignored pixel, all-zero input) is zero.
            w1e = torch.cat([w1m, w1m.new_zeros(width, 1)], dim=1)  # (width, C+1)
            sig_ext = torch.cat([sigma, torch.full((b, 1), c, dtype=sigma.dtype, device=dev)], dim=1)
            z_pos = w1e.unsqueeze(0).expand(b, width, c + 1)
            z_neg = w1e[:, sig_ext].permute(1, 0, 2)  # (B, width, C+1)
            z = torch.stack([z_pos, z_neg], dim=1)  # (B, 2, width, C+1)
            if b1 is not None:
                z = z + b1.to(dt).view(1, 1, width, 1)
            offsets = torch.arange(b, device=dev).view(b, 1, 1) * (c + 1)
            flat = (labels + offsets).reshape(-1)
            counts = torch.zeros(b * (c + 1), device=dev, dtype=dt).index_add_(
                0, flat, torch.ones((), device=dev, dtype=dt).expand(flat.numel())
            )
            frac = counts.reshape(b, 1, 1, c + 1) / float(h * w)
            mean = (z * frac).sum(-1)  # (B, 2, width)
            ex2 = (z * z * frac).sum(-1)
            t = self._normalise_table(blk.norm1, z, mean, ex2)  # (B, 2, width, C+1)
            t = F.relu(t)
            # compose with the stride-2 conv: K[b, m, o, k, :, :] = sum_i Wd[o, i] * T[b, m, i, k]
            kern = torch.einsum("oiyx,bmik->bmokyx", wd.to(dt), t).reshape(b * 2 * width, c + 1, 3, 3)
        one_hot = torch.zeros(b, c + 1, h, w, device=dev, dtype=kern.dtype)
        one_hot.scatter_(1, labels.unsqueeze(1), 1.0)
        if torch.is_autocast_enabled(dev.type):
            dt = torch.get_autocast_dtype(dev.type)
            one_hot, kern = one_hot.to(dt), kern.to(dt)
        out = F.conv2d(one_hot.reshape(1, b * (c + 1), h, w), kern, stride=2, padding=1, groups=b)
        out = out.reshape(b, 2, width, out.shape[-2], out.shape[-1])
        if bd is not None:
            out = out + bd.to(out.dtype).view(1, 1, width, 1, 1)
        return out

    @staticmethod
    def _normalise_table(norm: ChunkNorm, z, mean, ex2):
        """Apply ``norm`` (per-sample statistics from class counts) to the per-class table ``z``."""
        if norm.kind == "none":
            return z
        gn = norm.norm
        assert isinstance(gn, nn.GroupNorm)  # the label path runs with instance or group norm only
        bsz, m, width, _ = z.shape
        g = gn.num_groups
        mean_g = mean.reshape(bsz, m, g, width // g).mean(-1)
        ex2_g = ex2.reshape(bsz, m, g, width // g).mean(-1)
        var_g = (ex2_g - mean_g * mean_g).clamp_min(0.0)
        mean_c = mean_g.repeat_interleave(width // g, dim=-1).unsqueeze(-1)
        rstd_c = torch.rsqrt(var_g + gn.eps).repeat_interleave(width // g, dim=-1).unsqueeze(-1)
        out = (z - mean_c) * rstd_c
        if gn.affine:
            out = out * gn.weight.to(z.dtype).view(1, 1, width, 1) + gn.bias.to(z.dtype).view(1, 1, width, 1)
        return out
