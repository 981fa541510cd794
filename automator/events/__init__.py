"""Events: monitoring alerts, normalised from their sources and taken in durably.

Owns the Event model, one normaliser per source (``from_alertmanager``, ``from_grafana``,
``from_zabbix``, and :class:`GenericMapping` for any JSON), :class:`PayloadError` naming the
JSON path at fault, and :class:`EventIntake`: the ``events`` table, where an alert is committed
before it is acknowledged, a resolved alert is linked to its firing one, and the rule engine
finds the events it has not decided yet. Labels and annotations are data, never interpreted.

May import ``automator.store`` and ``automator.errors``.
"""

from automator.events._errors import EventNotFound, PayloadError
from automator.events._generic import FieldPath, GenericMapping
from automator.events._intake import EventIntake, EventRecord
from automator.events._model import Event, EventStatus, Severity
from automator.events._payload import MAX_LABELS, MAX_VALUE_BYTES
from automator.events._sources import from_alertmanager, from_grafana, from_zabbix

__all__ = [
    "MAX_LABELS",
    "MAX_VALUE_BYTES",
    "Event",
    "EventIntake",
    "EventNotFound",
    "EventRecord",
    "EventStatus",
    "FieldPath",
    "GenericMapping",
    "PayloadError",
    "Severity",
    "from_alertmanager",
    "from_grafana",
    "from_zabbix",
]
