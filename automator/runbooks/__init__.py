"""Runbooks: the catalogue of what operators run by hand (``automator run NAME``).

Owns the runbook file format and parameter validation. May import ``automator.runners`` and
``automator.inventory``.
"""

from automator.runbooks._catalogue import Action, Catalogue, Param, load_runbook

__all__ = ["Action", "Catalogue", "Param", "load_runbook"]
