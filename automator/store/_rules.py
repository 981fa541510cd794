"""Tables of the rules package (see automator/rules): the state behind throttles and
correlation, kept so that a restart neither repeats a remediation nor forgets an incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from automator.store._models import Base


class RuleAlert(Base):
    """A firing alert a rule has acted on (or decided about), until it resolves."""

    __tablename__ = "rule_alerts"
    __table_args__ = (Index("ix_rule_alerts_fingerprint", "fingerprint"),)

    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(200))
    group_key: Mapped[str] = mapped_column(String(1000))
    since: Mapped[datetime]


class RuleFired(Base):
    """When a rule last acted for a group (``once_within``)."""

    __tablename__ = "rule_fired"

    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    at: Mapped[datetime]


class RuleHit(Base):
    """One alert counted towards an ``accumulate`` threshold."""

    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_rule_group", "rule", "group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    group_key: Mapped[str] = mapped_column(String(1000))
    at: Mapped[datetime]


class RuleIncident(Base):
    """Alerts of one rule sharing a correlation key: one incident, one ticket."""

    __tablename__ = "rule_incidents"
    __table_args__ = (Index("ix_rule_incidents_rule_key", "rule", "correlation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    correlation_key: Mapped[str] = mapped_column(String(1000))
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class RuleIncidentMember(Base):
    __tablename__ = "rule_incident_members"
    __table_args__ = (Index("ix_rule_incident_members_fingerprint", "fingerprint"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("rule_incidents.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    firing: Mapped[bool]
    joined_at: Mapped[datetime]


class RulePending(Base):
    """A ``once_after`` wait: acted on at ``due_at`` unless every alert in it resolved."""

    __tablename__ = "rule_pending"

    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    first_seen: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    event_id: Mapped[int | None]
    fingerprint: Mapped[str] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(200))
    vars: Mapped[dict[str, Any]] = mapped_column(default=dict)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("rule_incidents.id"))
    firing: Mapped[list[Any]] = mapped_column(default=list)
