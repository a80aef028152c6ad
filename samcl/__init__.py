"""SAM-CL: self-adversarial multi-scale contrastive learning for thermal facial segmentation (PyTorch).

Public API (imports only torch and numpy):

- losses: :class:`SAMCLLoss`, :class:`CrossEntropyLoss`, :class:`DiceLoss`, :class:`RMILoss`,
  :func:`build_loss`, :func:`available_losses`, :func:`random_derangement`;
- the auxiliary network: :class:`AuxiliaryNetwork`;
- models: :func:`build_model`, :func:`available_models`, :func:`check_input_size`;
- metrics: :class:`ConfusionMatrix`, :func:`all_reduce_confusion_matrix`.
"""

from . import _requirements  # noqa: F401  (first: without torch, a message naming the 'samcl' extra)
from .losses import (
    CrossEntropyLoss,
    DiceLoss,
    RMILoss,
    SAMCLLoss,
    available_losses,
    build_loss,
    random_derangement,
    rmi_lower_bound,
)
from .losses.aux_net import AuxiliaryNetwork
from .metrics import ConfusionMatrix, all_reduce_confusion_matrix
from .models import available_models, build_model, check_input_size

__version__ = "0.1.0"

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
    "random_derangement",
    "rmi_lower_bound",
]
