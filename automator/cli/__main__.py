"""``python -m automator.cli``: the same as the ``automator`` command."""

import sys

from automator.cli import main

sys.exit(main())
