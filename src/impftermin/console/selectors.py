"""Reading for the console: the call statistics for supervisors (issue 6 item 6), counted
from the audit entries that every agent's change writes (one record of who did what, no
second bookkeeping)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from impftermin.audit.models import AuditAction
from impftermin.audit.selectors import audit_counts_by_hour
from impftermin.console.outcomes import CallOutcome

# The columns: what supervisors plan staff by. Couples linked or dissolved are part of a
# booking call, not calls of their own.
COUNTED = [
    CallOutcome.BOOKED,
    CallOutcome.REGISTERED,
    CallOutcome.REBOOKED,
    CallOutcome.CANCELLED,
    CallOutcome.DELETED,
]


@dataclass
class Counts:
    """One row: an agent in an hour, an agent's day, an hour of all agents, or the day."""

    agent: str = ""
    hour: dt.datetime | None = None
    by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))

    def add(self, outcome: str, count: int) -> None:
        self.by_outcome[outcome] += count

    @property
    def cells(self) -> list[int]:
        return [self.by_outcome[o] for o in COUNTED]

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())


@dataclass
class AgentDay:
    total: Counts
    hours: list[Counts]


@dataclass
class CallStatistics:
    day: dt.date
    agents: list[AgentDay]
    hours: list[Counts]  # all agents, per hour with calls
    total: Counts
    columns: list[CallOutcome] = field(default_factory=lambda: list(COUNTED))


def call_statistics(*, day: dt.date, user=None) -> CallStatistics:
    """Bookings, registrations, rebookings, cancellations and deletions per agent and
    local hour of `day` (optionally of one staff member, a user or its pk)."""
    rows = audit_counts_by_hour(
        actions=[AuditAction.CHANGE, AuditAction.DELETE],
        details=list(COUNTED),
        date_from=day,
        date_to=day,
        user=user,
    )
    agents: dict[str, AgentDay] = {}
    hours: dict[dt.datetime, Counts] = {}
    total = Counts()
    for row in rows:
        name, hour = row["username"], row["hour"]
        agent = agents.setdefault(name, AgentDay(total=Counts(agent=name), hours=[]))
        if not agent.hours or agent.hours[-1].hour != hour:
            agent.hours.append(Counts(agent=name, hour=hour))
        for counts in (
            agent.hours[-1],
            agent.total,
            hours.setdefault(hour, Counts(hour=hour)),
            total,
        ):
            counts.add(row["detail"], row["count"])
    return CallStatistics(
        day=day,
        agents=list(agents.values()),
        hours=[hours[h] for h in sorted(hours)],
        total=total,
    )
