"""``python -m automator.cli``: the same as the ``automator`` command."""

from automator.cli import console

console()
