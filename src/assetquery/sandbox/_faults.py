"""Deciding what goes wrong with a request: delay and fault, reproducibly.

A decision depends only on the seed, the institution, the request's own id and how many times
this app has seen that id, so the same run of requests meets the same faults whatever order
concurrent requests arrive in, and a retry (the same id again) gets a fresh draw.

Control submissions draw the same way, and may also meet ``Fault.APPLY_THEN_TIMEOUT``
(in a band of the draw after the other faults, so adding it changes no other decision).
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from ._config import InstitutionProfile

__all__ = [
    "NO_DELAY",
    "Decision",
    "Delay",
    "Fault",
    "FaultPlan",
]

#: Request ids remembered per institution. Retries come soon after the first attempt, so the
#: most recent ids suffice; a forgotten id starts counting again.
REMEMBERED_IDS = 50_000


class Fault(StrEnum):
    BUSY = "busy"
    THROTTLE = "throttle"
    ERROR = "error"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    RESET = "reset"
    SLOW_BODY = "slow_body"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    WRONG_SHAPE = "wrong_shape"
    APPLY_THEN_TIMEOUT = "apply_then_timeout"  # control submissions only


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one request.

    ``delay`` is the wait before answering (for a timeout, the hang included);
    ``busy_code`` says a busy answer is given in the institution's own envelope where it has
    one; ``truncate`` says a malformed body is the real one cut short, else an unrelated page;
    ``hang_after`` is the wait after a control action was applied and before its answer;
    ``slow_body`` the seconds a slow body takes to trickle out; ``variant``, a draw in
    [0, 1), picks which of its forms a fault takes (which content type, which wrong shape).
    """

    fault: Fault | None = None
    delay: float = 0.0
    busy_code: bool = False
    truncate: bool = False
    hang_after: float = 0.0
    slow_body: float = 0.0
    variant: float = 0.0


class FaultPlan:
    """The fault decisions of one institution in one app."""

    def __init__(self, seed: int, institution_id: str, profile: InstitutionProfile) -> None:
        self._prefix = f"{seed}:{institution_id}:"
        self._profile = profile
        self._thresholds = _cumulative(profile)
        applied_limit = profile.fault_rate + profile.apply_then_timeout_rate
        self._control_thresholds = [*self._thresholds, (Fault.APPLY_THEN_TIMEOUT, applied_limit)]
        # Without random knobs every decision is the same: skip the draws and the bookkeeping.
        self._fixed = (
            Decision(delay=profile.latency)
            if profile.fault_rate == 0
            and profile.apply_then_timeout_rate == 0
            and profile.jitter == 0
            else None
        )
        self._seen: OrderedDict[str, int] = OrderedDict()

    def decide(self, request_id: str, *, control: bool = False) -> Decision:
        """The fate of one request.

        ``control`` marks a control submission: it may also be applied and then left
        unanswered (``Fault.APPLY_THEN_TIMEOUT``).
        """
        if self._fixed is not None:
            return self._fixed
        rng = random.Random(f"{self._prefix}{request_id}:{self._count(request_id)}")
        profile = self._profile
        draw, jitter, detail = rng.random(), rng.random(), rng.random()
        delay = profile.latency + profile.jitter * jitter
        thresholds = self._control_thresholds if control else self._thresholds
        fault = next((f for f, limit in thresholds if draw < limit), None)
        if fault is Fault.TIMEOUT:
            delay += profile.hang_seconds
        return Decision(
            fault=fault,
            delay=delay,
            busy_code=fault is Fault.BUSY and detail < profile.busy_code_share,
            truncate=fault is Fault.MALFORMED and detail < 0.5,
            hang_after=profile.hang_seconds if fault is Fault.APPLY_THEN_TIMEOUT else 0.0,
            slow_body=profile.slow_body_seconds if fault is Fault.SLOW_BODY else 0.0,
            variant=detail if fault in _VARIED else 0.0,
        )

    def _count(self, request_id: str) -> int:
        """How many times this id was seen before; remembers the most recent ids only."""
        seen = self._seen
        count = seen.pop(request_id, 0)
        seen[request_id] = count + 1
        if len(seen) > REMEMBERED_IDS:
            seen.popitem(last=False)
        return count


#: The faults that come in several forms, chosen by ``Decision.variant``.
_VARIED = frozenset({Fault.WRONG_CONTENT_TYPE, Fault.WRONG_SHAPE})


def _cumulative(profile: InstitutionProfile) -> list[tuple[Fault, float]]:
    rates = (
        (Fault.BUSY, profile.busy_rate),
        (Fault.THROTTLE, profile.throttle_rate),
        (Fault.ERROR, profile.error_rate),
        (Fault.TIMEOUT, profile.timeout_rate),
        (Fault.MALFORMED, profile.malformed_rate),
        # Later additions come last, so that without them every other draw stays the same.
        (Fault.RESET, profile.reset_rate),
        (Fault.SLOW_BODY, profile.slow_body_rate),
        (Fault.WRONG_CONTENT_TYPE, profile.wrong_content_type_rate),
        (Fault.WRONG_SHAPE, profile.wrong_shape_rate),
    )
    thresholds, total = [], 0.0
    for fault, rate in rates:
        total += rate
        thresholds.append((fault, total))
    return thresholds


@dataclass(frozen=True, slots=True)
class Delay:
    """How long an institution takes to work on something: a median and a spread.

    Each request's delay is drawn from a log-normal distribution (``median × e^(spread·z)``)
    seeded by the request's own key, so one key always takes the same time and a slow
    institution is slow in a realistic, long-tailed way. ``spread`` 0 means always the median.
    """

    median: float
    spread: float = 0.0
    salt: str = ""

    def for_key(self, key: str) -> float:
        if self.median <= 0:
            return 0.0
        if self.spread <= 0:
            return self.median
        z = random.Random(f"{self.salt}:delay:{key}").gauss(0.0, 1.0)
        return self.median * math.exp(self.spread * z)


#: No delay at all: answers come at once.
NO_DELAY = Delay(0.0)
