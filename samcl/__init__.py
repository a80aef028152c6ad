"""SAM-CL: self-adversarial multi-scale contrastive learning for thermal facial segmentation (PyTorch).

Public API (imports only torch and numpy, on first use of a name):

- losses: :class:`SAMCLLoss`, :class:`CrossEntropyLoss`, :class:`DiceLoss`, :class:`RMILoss`,
  :func:`build_loss`, :func:`available_losses`, :func:`random_derangement`;
- the auxiliary network: :class:`AuxiliaryNetwork`;
- models: :func:`build_model`, :func:`available_models`, :func:`check_input_size`;
- metrics: :class:`ConfusionMatrix`, :func:`all_reduce_confusion_matrix`;
- inference from one's own code: :func:`load_predictor` (a ``.pt`` checkpoint, a run folder or an ``.onnx`` file;
  ``predict`` takes (H, W) or (N, H, W) degrees Celsius of any size), :func:`save_model` (one's own network as a
  file samcl-eval and samcl-predict accept), and the networks' size rule: :func:`pad_frames`,
  :func:`padded_size`, :func:`crop_frames`.
"""

from __future__ import annotations

from tiaug import __version__  # the one version of the distribution
from tiaug._lazy import lazy_exports

from . import _requirements  # noqa: F401  (first: without torch, a message naming the 'samcl' extra)

#: public name -> the submodule defining it; imported on first use (PEP 562), so that `import samcl.cli` does not
#: load torch by itself
_EXPORTS = {
    "AuxiliaryNetwork": "losses.aux_net",
    "ConfusionMatrix": "metrics",
    "CrossEntropyLoss": "losses",
    "DiceLoss": "losses",
    "RMILoss": "losses",
    "SAMCLLoss": "losses",
    "all_reduce_confusion_matrix": "metrics",
    "available_losses": "losses",
    "available_models": "models",
    "build_loss": "losses",
    "build_model": "models",
    "check_input_size": "models",
    "crop_frames": "inference.padding",
    "load_predictor": "inference.own_model",
    "pad_frames": "inference.padding",
    "padded_size": "inference.padding",
    "save_model": "inference.own_model",
    "random_derangement": "losses",
    "rmi_lower_bound": "losses",
}

__all__ = [
    "AuxiliaryNetwork",
    "ConfusionMatrix",
    "CrossEntropyLoss",
    "DiceLoss",
    "RMILoss",
    "SAMCLLoss",
    "__version__",
    "all_reduce_confusion_matrix",
    "available_losses",
    "available_models",
    "build_loss",
    "build_model",
    "check_input_size",
    "crop_frames",
    "load_predictor",
    "pad_frames",
    "padded_size",
    "random_derangement",
    "rmi_lower_bound",
    "save_model",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
