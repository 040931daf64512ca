"""Ternary by quantization-aware fine-tuning: a Trainer run from the trained model, which
is its own teacher (``QATConfig`` in :mod:`engine.train.config` has the recipe), then the run's
best checkpoint baked. The run is an ordinary run folder: its curves, pause and stop,
``--resume`` and kill -9 safety are the Trainer's."""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import ModelError
from engine.models.checkpoint import CONFIG_NAME
from engine.train.config import QATConfig, TrainConfig

# the model fields that are not overrides of a preset (arch picks the class; max_len is the
# run's seq_len, which must equal the model's, or its filters' buffers would not load)
_NOT_OVERRIDES = ("arch", "max_len")


def qat_train_config(source: str | Path, files: list[str], *, steps: int = 2000,
                     batch_size: int = 8, lr: float = 1e-3, qat: dict | None = None,
                     **options) -> TrainConfig:
    """The training config that fine-tunes the model folder ``source`` toward ternary."""
    source = Path(source)
    try:
        values = json.loads((source / CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"cannot read the model's config: {error}", path=source) from None
    model = {k: v for k, v in values.items()
             if k not in _NOT_OVERRIDES and not str(k).startswith("_")}
    config = TrainConfig(files=list(files), arch=values.get("arch", "hyena"), preset="tiny",
                         model=model, steps=steps, seq_len=int(values["max_len"]),
                         batch_size=batch_size, lr=lr, init_from=str(source),
                         qat=dict(qat or {"to": "ternary"}), **options)
    QATConfig(**config.qat).validate()
    config.validate()
    return config
