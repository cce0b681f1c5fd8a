"""Run the command line with ``python -m certkit``."""

import sys

from certkit._cli import run

sys.exit(run())
