"""``python -m engine.train`` and ``torchrun ... -m engine.train``: same as ``bytescope train``."""

import os
import sys

from engine.cli import main

code = main(["train", *sys.argv[1:]])
if int(os.environ.get("WORLD_SIZE", "1")) > 1:
    # Under torchrun, torch's c10d threads can still be joinable when C++ static destructors
    # run, and abort a finished run at exit ("terminate called without an active exception",
    # SIGABRT, so torchrun reports failure). By now the Trainer has closed its files and
    # destroyed the process group: flush and leave without running those destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
