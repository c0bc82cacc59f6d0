"""`python -m gdsim` does what the `gdsim` command does."""

import sys

from gdsim.cli import main

sys.exit(main())
