"""What the law says and when things fall due: rule packs, deadlines, the working-day calendar.

This is the one home of the rules assetquery applies (see ``docs/rules.md`` and
``docs/calendar.md``):

- the rule pack: how long a freeze or seal stays in force, when it must be renewed, which
  response deadline each institution type has (``load_rule_pack``; ``china.toml``, the
  packaged default, sits next to this file);
- the dates a control's life turns on: ``control_end``, ``renewal_deadline``;
- the working-day calendar those deadlines are counted in (``default_calendar``,
  announced holiday schedules through ``load_schedule``);
- ``SlaPolicy``: for one request, the rule that applies and its ``Deadline``.

``assetquery.ledger`` and ``assetquery.sla`` re-export the names they have always
offered; new code imports them from here.
"""

from ._calendar import (
    Deadline,
    WorkingCalendar,
    YearSchedule,
    default_calendar,
    load_schedule,
    load_schedules,
)
from ._deadlines import SlaPolicy
from ._pack import (
    SLA_OPERATIONS,
    DayCount,
    Period,
    PeriodUnit,
    RenewalPeriodFrom,
    RulePack,
    SlaKind,
    SlaRule,
    WaitingPeriodFrom,
    control_end,
    load_rule_pack,
    renewal_deadline,
)

__all__ = [
    "SLA_OPERATIONS",
    "DayCount",
    "Deadline",
    "Period",
    "PeriodUnit",
    "RenewalPeriodFrom",
    "RulePack",
    "SlaKind",
    "SlaPolicy",
    "SlaRule",
    "WaitingPeriodFrom",
    "WorkingCalendar",
    "YearSchedule",
    "control_end",
    "default_calendar",
    "load_rule_pack",
    "load_schedule",
    "load_schedules",
    "renewal_deadline",
]
