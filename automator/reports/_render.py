"""The inspection report as one HTML file: inline CSS and SVG, no script, nothing fetched."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from automator import __version__
from automator.reports._model import InspectionData

_TEMPLATES = Path(__file__).parent / "templates"


def render_inspection(data: InspectionData) -> str:
    """The report as one HTML file (inline CSS and SVG, no script); every text from the
    store is escaped by the template."""
    zone = ZoneInfo(data.timezone)

    def local(moment: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(form) if moment is not None else "—"

    return (
        _environment()
        .get_template("inspection.html")
        .render(data=data, local=local, version=__version__)
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
