"""External ITSM: automator's tickets mirrored both ways into Redmine, through an outbox.

``ItsmAdapter`` is what an ITSM must offer (``RedmineAdapter`` over Redmine's REST API);
``ItsmSync`` queues timeline entries into the outbox, drains it in order per ticket, and pulls
the comments and status changes made in the ITSM. Configured by the project's itsm.yaml.
May import ``automator.store`` and ``automator.tickets``.
"""

from collections.abc import Callable
from datetime import datetime

from automator.itsm._adapter import (
    ChangeBatch,
    ItsmAdapter,
    NewIssue,
    Note,
    RemoteChange,
    SeenStamps,
    issue_key,
)
from automator.itsm._config import ItsmConfig, load_itsm_config
from automator.itsm._errors import ItsmConfigError, ItsmError, ItsmRejected, ItsmUnavailable
from automator.itsm._redmine import RedmineAdapter, RedmineSettings
from automator.itsm._sync import (
    ItsmSync,
    MirrorPolicy,
    Operation,
    RowError,
    RowStatus,
    SyncPolicy,
    SyncStatus,
    TickResult,
    sync_links,
    sync_status,
)
from automator.store import Store, utcnow


def open_sync(store: Store, config: ItsmConfig, clock: Callable[[], datetime] = utcnow) -> ItsmSync:
    """The sync that itsm.yaml describes (raises ConfigError when the API key is missing)."""
    adapter = RedmineAdapter(config.redmine, config.redmine.api_key())
    return ItsmSync(
        store, adapter, system=config.system, clock=clock, mirror=config.mirror, policy=config.sync
    )


__all__ = [
    "ChangeBatch",
    "ItsmAdapter",
    "ItsmConfig",
    "ItsmConfigError",
    "ItsmError",
    "ItsmRejected",
    "ItsmSync",
    "ItsmUnavailable",
    "MirrorPolicy",
    "NewIssue",
    "Note",
    "Operation",
    "RedmineAdapter",
    "RedmineSettings",
    "RemoteChange",
    "RowError",
    "RowStatus",
    "SeenStamps",
    "SyncPolicy",
    "SyncStatus",
    "TickResult",
    "issue_key",
    "load_itsm_config",
    "open_sync",
    "sync_links",
    "sync_status",
]
