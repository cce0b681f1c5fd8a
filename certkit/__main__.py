"""Run the command line with ``python -m certkit``."""

import sys

from certkit._cli import main

sys.exit(main())
