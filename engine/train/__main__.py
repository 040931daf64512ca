"""``python -m engine.train`` and ``torchrun ... -m engine.train``: same as ``bytescope train``."""

from engine.cli import module_main

module_main("train")
