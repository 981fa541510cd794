"""Per-host locks in the store: never two jobs changing one host at once.

A lock is a row keyed by host, so taking all of a job's locks is one transaction that either
inserts every row or fails on the first held one, on SQLite and PostgreSQL alike. A lock whose
owning process is gone (same machine, dead pid) is stale and is taken over.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from automator.errors import LockConflict
from automator.jobs._owner import owner_is_alive, process_owner
from automator.store import HostLock, Store


class HostLocks:
    def __init__(self, store: Store) -> None:
        self.store = store

    def acquire(self, job_id: int, hosts: Iterable[str]) -> None:
        """Lock every host for ``job_id`` or none; raise LockConflict naming the holders."""
        wanted = sorted(set(hosts))
        if not wanted:
            return
        self._clear_stale(wanted)
        owner = process_owner()
        try:
            with self.store.session() as session:
                session.add_all(HostLock(host=h, job_id=job_id, owner=owner) for h in wanted)
        except IntegrityError:
            with self.store.session() as session:
                held = session.scalars(select(HostLock).where(HostLock.host.in_(wanted)))
                raise LockConflict({lock.host: lock.job_id for lock in held}) from None

    def release(self, job_id: int) -> None:
        with self.store.session() as session:
            session.execute(delete(HostLock).where(HostLock.job_id == job_id))

    def held(self) -> dict[str, int]:
        with self.store.session() as session:
            return {lock.host: lock.job_id for lock in session.scalars(select(HostLock))}

    def _clear_stale(self, hosts: list[str]) -> None:
        with self.store.session() as session:
            for lock in session.scalars(select(HostLock).where(HostLock.host.in_(hosts))):
                if not owner_is_alive(lock.owner):
                    session.delete(lock)
