"""`python -m bot`: the same command line as `newsbot`, for environments without the
console script on PATH."""

import sys

from bot.cli import main

sys.exit(main())
