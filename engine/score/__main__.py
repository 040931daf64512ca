"""``python -m engine.score`` and ``torchrun ... -m engine.score``: same as ``bytescope score``."""

from engine.cli import module_main

module_main("score")
