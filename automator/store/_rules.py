"""Tables of the rules package (see automator/rules)."""

from __future__ import annotations
