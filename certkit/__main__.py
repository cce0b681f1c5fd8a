"""Run the command line with ``python -m certkit``."""

import sys

from certkit.cli import run

sys.exit(run())
