"""``python -m engine.train`` and ``torchrun ... -m engine.train``: same as ``bytescope train``."""

import sys

from engine.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
