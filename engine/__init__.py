"""bytescope's engine: sequence I/O, patching, models and analysis, without Qt.

Everything here runs headless (a server, a notebook, ``torchrun``); the ``gui`` package
builds on it and never the other way round.
"""

__version__ = "0.1.0"
