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

Cost: only the first block's ``1x1 conv -> norm -> ReLU`` touches full-resolution maps; with the
default width (= C, 6 for thermal faces) that is a 6-channel pointwise conv, a per-sample norm and a
ReLU on 3B maps, plus the stride-2 conv that halves the resolution. Everything else runs at 1/4 or
1/16 of the pixels. See ``benchmarks/bench_train_step.py`` for measurements.
"""

from __future__ import annotations

import torch
from torch import nn

NORMS = ("instance", "group", "batch", "none")


class ChunkNorm(nn.Module):
    """A normalisation layer that never mixes statistics across the ``num_chunks`` equal batch chunks."""

    def __init__(self, kind: str, channels: int, groups: int | None = None):
        super().__init__()
        if kind not in NORMS:
            raise ValueError(f"unknown norm {kind!r}; choose one of {NORMS}")
        self.kind = kind
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


def _conv(cin: int, cout: int, k: int, stride: int, bias: bool, sn: bool) -> nn.Module:
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)
    if sn:
        conv = nn.utils.parametrizations.spectral_norm(conv)
    return conv


class DownBlock(nn.Module):
    """``1x1 conv -> norm -> ReLU -> 3x3 stride-2 conv -> norm -> ReLU``.

    (N, cin, H, W) -> (N, cout, ceil(H/2), ceil(W/2)).
    """

    def __init__(self, cin: int, cout: int, norm: str, spectral_norm: bool, groups: int | None = None):
        super().__init__()
        bias = norm == "none"
        self.pointwise = _conv(cin, cout, 1, 1, bias, spectral_norm)
        self.norm1 = ChunkNorm(norm, cout, groups)
        self.down = _conv(cout, cout, 3, 2, bias, spectral_norm)
        self.norm2 = ChunkNorm(norm, cout, groups)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        x = self.act(self.norm1(self.pointwise(x), num_chunks))
        return self.act(self.norm2(self.down(x), num_chunks))


class FinalBlock(nn.Module):
    """``3x3 conv -> norm -> ReLU`` at the same resolution."""

    def __init__(self, cin: int, cout: int, norm: str, spectral_norm: bool, groups: int | None = None):
        super().__init__()
        self.conv = _conv(cin, cout, 3, 1, norm == "none", spectral_norm)
        self.norm = ChunkNorm(norm, cout, groups)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        return self.act(self.norm(self.conv(x), num_chunks))


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
