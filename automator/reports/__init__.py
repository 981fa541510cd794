"""Reports to print, sign and file: the daily inspection report of the health checks.

Reads the store (check results, states, measurements, tickets) and the inventory; the check
catalogue only lends its thresholds to the charts. Imports nothing that runs jobs.
"""

from automator.reports._charts import CHART_DAYS, Chart
from automator.reports._inspection import inspection_report, save_snapshot, time_zone
from automator.reports._model import (
    Change,
    FindingView,
    InspectionData,
    Problem,
    ReportError,
    SiteSection,
    TenantSection,
    TicketRef,
    Unchecked,
)
from automator.reports._render import render_inspection

__all__ = [
    "CHART_DAYS",
    "Change",
    "Chart",
    "FindingView",
    "InspectionData",
    "Problem",
    "ReportError",
    "SiteSection",
    "TenantSection",
    "TicketRef",
    "Unchecked",
    "inspection_report",
    "render_inspection",
    "save_snapshot",
    "time_zone",
]
