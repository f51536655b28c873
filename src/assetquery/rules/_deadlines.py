"""When a request to an institution falls due: the rule that applies, and its deadline.

Three kinds of deadline are kept apart (see ``SlaKind``): hours run on the clock;
working days follow the Chinese working-day calendar (make-up workdays included;
provisional beyond the years with an announced schedule); calendar periods end as Civil
Procedure Law art. 85 says, moved to the next working day when they end on a rest day.

The policy reads only what it needs of the configuration (the two protocols below), so the
fan-out engine and the ledger can ask it without the rules depending on the settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Protocol

from .._time import end_of_local_day, local_date
from ._calendar import Deadline, WorkingCalendar
from ._pack import RulePack, SlaKind, SlaRule, load_rule_pack

__all__ = ["SlaPolicy"]


class _Institution(Protocol):
    """What the policy reads of an institution's settings."""

    @property
    def adapter(self) -> str: ...
    @property
    def sla(self) -> Mapping[str, SlaRule]: ...


class _Configured(Protocol):
    """What the policy reads of the settings: the rule pack and holiday schedules named."""

    @property
    def rules(self) -> str | os.PathLike[str] | None: ...
    @property
    def calendar(self) -> Iterable[str | os.PathLike[str]]: ...


class SlaPolicy:
    """Which deadline applies to a request, and when it falls due."""

    def __init__(self, pack: RulePack, calendar: WorkingCalendar) -> None:
        self.pack = pack
        self.calendar = calendar
        # A working-day deadline depends only on the day of the request: every lookup of a
        # batch asks for the same few, so they are worked out once.
        self._working_day_deadlines: dict[tuple[int, date], Deadline] = {}
        # An hours rule's span, by the rule's id (the rule is kept, so the id stays its own):
        # a timedelta from a float costs more than the deadline's own arithmetic.
        self._spans: dict[int, tuple[SlaRule, timedelta]] = {}

    @classmethod
    def from_settings(cls, settings: _Configured) -> SlaPolicy:
        """The rule pack and the announced holiday schedules the configuration names."""
        return cls(load_rule_pack(settings.rules), WorkingCalendar.from_paths(settings.calendar))

    def rule(self, institution: _Institution, operation: str) -> SlaRule | None:
        """The institution's own rule, else the rule pack's default for its type, else none."""
        own = institution.sla.get(operation)
        if own is not None:
            return own
        return self.pack.sla.get(institution.adapter, {}).get(operation)

    def deadline(self, rule: SlaRule, started_at: datetime) -> Deadline:
        """When a request made at ``started_at`` under ``rule`` falls due."""
        if rule.hours is not None:
            known = self._spans.get(id(rule))
            if known is None or known[0] is not rule:
                if len(self._spans) > 256:
                    self._spans.clear()
                known = self._spans[id(rule)] = (rule, timedelta(hours=rule.hours))
            return Deadline(started_at + known[1], provisional=False)
        if rule.kind is SlaKind.WORKING_DAYS:
            assert rule.working_days is not None
            key = (rule.working_days, local_date(started_at))
            deadline = self._working_day_deadlines.get(key)
            if deadline is None:
                if len(self._working_day_deadlines) > 4096:
                    self._working_day_deadlines.clear()
                deadline = self.calendar.add_working_days(started_at, rule.working_days)
                self._working_day_deadlines[key] = deadline
            return deadline
        assert rule.period is not None
        # art. 85: the period ends on its last day, or the next working day after a rest day
        last = rule.period.after(local_date(started_at))
        provisional = self.calendar.is_provisional(last)
        while not self.calendar.is_working_day(last):
            last += timedelta(days=1)
            provisional = provisional or self.calendar.is_provisional(last)
        return Deadline(end_of_local_day(last), provisional=provisional)

    def due(
        self, institution: _Institution, operation: str, started_at: datetime
    ) -> tuple[SlaRule, Deadline] | None:
        rule = self.rule(institution, operation)
        return None if rule is None else (rule, self.deadline(rule, started_at))
