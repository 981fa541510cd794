"""The SNMP collector: GET named values from an agent (UPS, PDU, cooling unit) with pysnmp.

``snmp_get`` is synchronous and thread-safe: worker threads (one per host) call it at once.
pysnmp 7 is asyncio, and an ``SnmpEngine`` costs ~90 ms of CPU to build, so the calls in
flight share one event loop thread and one engine: 50 concurrent GETs of 10 OIDs take ~0.1 s
this way against ~4 s with a loop and an engine per call (measured on the 2-core lab machine).
The loop thread starts with the first call and is joined when the last call in flight returns,
so no thread outlives the calls: a process may still move into a network namespace between
checks (the lab's rule), and a later call opens its sockets in the namespace it is in.

The community is a secret: it is kept out of ``repr(SnmpTarget)``, out of every exception
message and out of tracebacks (pysnmp's own errors are not chained).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.error import PySnmpError  # type: ignore[import-untyped]
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905  # type: ignore[import-untyped]

from automator.errors import AutomatorError, ConfigError

SnmpValue = str | int | float | None

# RFC 1628 UPS-MIB: the values the ``ups_mib`` parser reads, by their MIB names. Input and
# output voltage and the load are line 1 of their tables.
UPS_MIB_OIDS: Mapping[str, str] = MappingProxyType(
    {
        "upsBatteryStatus": "1.3.6.1.2.1.33.1.2.1.0",
        "upsSecondsOnBattery": "1.3.6.1.2.1.33.1.2.2.0",
        "upsEstimatedMinutesRemaining": "1.3.6.1.2.1.33.1.2.3.0",
        "upsEstimatedChargeRemaining": "1.3.6.1.2.1.33.1.2.4.0",
        "upsBatteryVoltage": "1.3.6.1.2.1.33.1.2.5.0",
        "upsBatteryTemperature": "1.3.6.1.2.1.33.1.2.7.0",
        "upsInputVoltage": "1.3.6.1.2.1.33.1.3.3.1.3.1",
        "upsOutputSource": "1.3.6.1.2.1.33.1.4.1.0",
        "upsOutputVoltage": "1.3.6.1.2.1.33.1.4.4.1.2.1",
        "upsOutputPercentLoad": "1.3.6.1.2.1.33.1.4.4.1.5.1",
    }
)

_OID = re.compile(r"\.?\d+(\.\d+)+")
_MP_MODEL = {"1": 0, "2c": 1}
_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)
# Beyond the agent's own timeout and retries, how long a caller waits for the loop thread.
_GRACE_S = 5.0


@dataclass(frozen=True)
class SnmpTarget:
    """An SNMP agent: where it answers and how to ask (v1 or v2c, by community)."""

    host: str
    port: int = 161
    community: str = field(default="public", repr=False)
    version: str = "2c"
    timeout: float = 2.0
    retries: int = 1

    def __post_init__(self) -> None:
        if self.version not in _MP_MODEL:
            raise ConfigError(f"SNMP {self.where}: version must be 1 or 2c, not {self.version!r}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class SnmpUnreachable(AutomatorError):
    """The agent did not answer at all: down, unreachable, or a wrong community (an agent
    drops a request with a community it does not know, it does not refuse it)."""


class SnmpError(AutomatorError):
    """The agent answered with an error (noSuchName on SNMPv1, tooBig, genErr, ...)."""


def snmp_get(target: SnmpTarget, oids: Mapping[str, str]) -> dict[str, SnmpValue]:
    """GET every OID in one request: value name -> value.

    Integers (Counter32, Gauge32, TimeTicks, ...) come back as int, strings as str (bytes that
    are not UTF-8 as hex), addresses and OIDs in dotted form. An OID the agent does not have
    (noSuchObject, noSuchInstance) is None. ``oids`` are numeric (``1.3.6.1...``).
    """
    for name, oid in oids.items():
        if not _OID.fullmatch(oid):
            raise ConfigError(f"SNMP value {name}: {oid!r} is not a numeric OID")
    if not oids:
        return {}
    wait = target.timeout * (target.retries + 1) + _GRACE_S
    with _SHARED.running() as (loop, engine):
        future = asyncio.run_coroutine_threadsafe(_get(engine, target, oids), loop)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            future.cancel()
            raise SnmpUnreachable(f"SNMP {target.where}: no answer within {wait:.0f} s") from None


async def _get(engine: Any, target: SnmpTarget, oids: Mapping[str, str]) -> dict[str, SnmpValue]:
    """One GET on the loop thread; pysnmp's errors become ours, without the community."""
    names = list(oids)
    try:
        transport = await UdpTransportTarget.create(
            (target.host, target.port), timeout=target.timeout, retries=target.retries
        )
        indication, status, index, var_binds = await get_cmd(
            engine,
            CommunityData(target.community, mpModel=_MP_MODEL[target.version]),
            transport,
            ContextData(),
            *(ObjectType(ObjectIdentity(oid.lstrip("."))) for oid in oids.values()),
            lookupMib=False,
        )
    except (PySnmpError, OSError) as error:  # an unknown host name, no route to the host
        raise SnmpUnreachable(_redacted(f"SNMP {target.where}: {error}", target)) from None
    if isinstance(indication, errind.RequestTimedOut):
        tries = target.retries + 1
        raise SnmpUnreachable(
            f"SNMP {target.where}: no answer within {target.timeout:g} s x {tries} tries "
            "(down, unreachable, or a wrong community)"
        )
    if indication:
        raise SnmpError(_redacted(f"SNMP {target.where}: {indication}", target))
    if status:
        name = names[int(index) - 1] if 0 < int(index) <= len(names) else "the request"
        raise SnmpError(f"SNMP {target.where} answered {status.prettyPrint()} for {name}")
    return {name: _python(value) for name, (_, value) in zip(names, var_binds, strict=True)}


def _python(value: Any) -> SnmpValue:
    """An SNMP value as plain Python (see ``snmp_get``)."""
    if isinstance(value, _ABSENT):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString) and not isinstance(value, rfc1902.IpAddress):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            return str(value.prettyPrint())
    return str(value.prettyPrint())


def _redacted(message: str, target: SnmpTarget) -> str:
    return message.replace(target.community, "***") if target.community else message


class _SharedLoop:
    """One event loop thread and one SnmpEngine for the calls in flight.

    The first caller starts them, the last one to leave stops and joins them. Everything
    pysnmp does happens on the loop thread, so the engine is never touched by two threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None

    @contextmanager
    def running(self) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
        with self._lock:
            if self._users == 0:
                self._start()
            self._users += 1
            assert self._loop is not None
            loop, engine = self._loop, self._engine
        try:
            yield loop, engine
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._stop()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="snmp-loop", daemon=True)
        thread.start()
        try:
            self._engine = asyncio.run_coroutine_threadsafe(_new_engine(), loop).result()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)  # leave no thread behind (see the module doc)
            thread.join()
            loop.close()
            raise
        self._loop, self._thread = loop, thread

    def _stop(self) -> None:
        loop, thread, engine = self._loop, self._thread, self._engine
        self._loop = self._thread = self._engine = None
        assert loop is not None and thread is not None
        asyncio.run_coroutine_threadsafe(_close(engine, loop), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _new_engine() -> Any:
    return SnmpEngine()


async def _close(engine: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close the engine's sockets and the resolver threads (asyncio's default executor)."""
    engine.close_dispatcher()
    await loop.shutdown_default_executor()


_SHARED = _SharedLoop()
