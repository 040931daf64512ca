"""Ternary by quantization-aware fine-tuning: a Trainer run from the trained model, which
is its own teacher (``QATConfig`` in :mod:`engine.train.config` has the recipe), then the run's
best checkpoint baked. The run is an ordinary run folder: its curves, pause and stop,
``--resume`` and kill -9 safety are the Trainer's."""

from __future__ import annotations

from pathlib import Path

from engine.train.config import QATConfig, TrainConfig, model_of


def qat_train_config(source: str | Path, files: list[str], *, steps: int = 2000,
                     batch_size: int = 8, lr: float = 1e-3, qat: dict | None = None,
                     **options) -> TrainConfig:
    """The training config that fine-tunes the model folder ``source`` toward ternary."""
    source = Path(source)
    arch, model, max_len = model_of(source)
    config = TrainConfig(files=list(files), arch=arch, preset="tiny",
                         model=model, steps=steps, seq_len=max_len,
                         batch_size=batch_size, lr=lr, init_from=str(source),
                         qat=dict(qat or {"to": "ternary"}), **options)
    QATConfig(**config.qat).validate()
    config.validate()
    return config
