"""Training byte models: the Trainer, its config, data mixture, checkpoints and metrics."""

from .checkpoints import RunWriteError, checkpoint_dirs, load_checkpoint
from .config import TrainConfig
from .data import ByteMixture
from .metrics import read_metrics
from .trainer import Trainer, TrainEvent, TrainingFailed, lr_at, seq_len_at

__all__ = [
    "ByteMixture",
    "RunWriteError",
    "TrainConfig",
    "TrainEvent",
    "Trainer",
    "TrainingFailed",
    "checkpoint_dirs",
    "load_checkpoint",
    "lr_at",
    "read_metrics",
    "seq_len_at",
]
