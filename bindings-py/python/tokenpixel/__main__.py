"""`python -m tokenpixel`: the command-line tool."""

import sys

from tokenpixel.cli import main

sys.exit(main())
