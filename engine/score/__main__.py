"""``python -m engine.score`` and ``torchrun ... -m engine.score``: same as ``bytescope score``."""

import os
import sys

from engine.cli import main

code = main(["score", *sys.argv[1:]])
if int(os.environ.get("WORLD_SIZE", "1")) > 1:
    # as engine/train/__main__.py: leave without C++ static destructors racing c10d's threads
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
