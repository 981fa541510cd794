"""StoreRuleState's SQLite fast path (the driver's SQL, the columns' own bind processors)
stores the same text as SQLAlchemy's statements would, for every kind of change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from automator.rules import StoreRuleState
from automator.rules._state import Pending, TrackedAlert
from automator.store import Store

T = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # no microseconds: their text is the trap
TABLES = (
    "rule_alerts",
    "rule_fired",
    "rule_hits",
    "rule_incidents",
    "rule_incident_members",
    "rule_pending",
)


def changes(state: StoreRuleState) -> None:
    later = T + timedelta(seconds=1, microseconds=5)
    with state.batch():
        state.track(TrackedAlert("r", "fp1", "web1", "host=web1", T))
        state.track(TrackedAlert("r", "fp2", None, "", later))
        state.set_fired("r", "host=web1", T)
        state.count_hit("r", "k", T, T - timedelta(minutes=5))
        state.put_pending(
            Pending(
                "r", "k", T, later, "fp1", 7, "web1", {"n": 1, "s": "x"}, None, frozenset({"fp1"})
            )
        )
        incident = state.open_incident("r", "site=a", T)
        state.join_incident(incident.id, "fp1", "web1", T)
        state.join_incident(incident.id, "fp2", "web2", later)
    with state.batch():
        state.set_fired("r", "host=web1", later)
        state.count_hit("r", "k", later, T)
        state.put_pending(
            Pending("r", "k", T, later, "fp1", 7, "web1", {"n": 1}, None, frozenset({"fp1", "fp2"}))
        )
        state.untrack("fp2")
        state.leave_incident("r", "fp2", later)
        state.leave_incident("r", "fp1", later)
        state.drop_pending("r", "k")
        state.reset_hits("r", "k")


def contents(store: Store) -> dict[str, list[tuple[object, ...]]]:
    with store.engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]
            for table in TABLES
        }


def test_the_fast_path_stores_what_sqlalchemy_would(tmp_path: Path) -> None:
    fast_store = Store.open(f"sqlite:///{tmp_path / 'fast.db'}")
    generic_store = Store.open(f"sqlite:///{tmp_path / 'generic.db'}")
    fast, generic = StoreRuleState(fast_store), StoreRuleState(generic_store)
    generic._sqlite = False  # the path every other database takes
    changes(fast)
    changes(generic)
    stored = contents(fast_store)
    assert stored == contents(generic_store)
    assert stored["rule_fired"] == [("r", "host=web1", "2026-11-27 10:00:01.000005")]
    assert stored["rule_alerts"] == [
        ("r", "fp1", "web1", "host=web1", "2026-11-27 10:00:00.000000")
    ]
    # and what was written reads back as it was
    again = StoreRuleState(fast_store)
    assert again.last_fired("r", "host=web1") == T + timedelta(seconds=1, microseconds=5)
