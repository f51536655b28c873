"""What a simulated institution does with control actions: freeze, seal, deduct, renew, release.

Each institution keeps a ``ControlBook``, in memory, per app. The controls other courts
hold in the dataset are each asset's starting state; the book applies the actions it
receives on top, by the rules every simulated institution shares:

* **Idempotency.** An action is remembered by its idempotency key. The same key again gets
  the action as it stands now, never applied a second time; the same key with a different
  request (operation, asset, amount, target) is a conflict.
* **Freeze** (an account): freezes ``min(amount, available)`` at once. When other controls
  in force hold the whole balance, it waits in line (轮候) instead.
* **Seal** (a unit): in force at once, or in line behind another seal in force.
* **Waiting line.** Position 1 is the control in force; a waiting control's position is 1 +
  the controls in force or waiting registered before it. When a control in force is
  released or lapses, the earliest waiting ones take effect (a freeze on whatever is free),
  dated the day of conversion, their period running from then.
* **End dates.** The requested end, capped at the legal maximum (effective date + the
  maximum − 1 day: 1 year for deposits, 3 for fund balances and real estate), or that
  maximum when none is requested. A control whose end has passed lapses (checked whenever
  its asset is looked at).
* **Deduct** takes from an effective freeze this court placed through the interface, at
  most its frozen amount; balance and frozen amount both fall. A freeze deducted in full
  is released. **Renew** moves the end of an effective control (by default to the end of a
  further full period after the current end). **Release** lifts an effective or waiting
  control. Renew, deduct and release act only on controls the same court placed here.
* **Refusals** (no document, unknown asset or target, asset not the subject's, ...) are
  recorded as rejected actions with a message: a business answer, not an HTTP error.

Dates are Shanghai dates of the real clock; times of day play no part.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from ._data import ZERO, Control
from ._faults import NO_DELAY, Delay
from ._http import shanghai_today

__all__ = [
    "REMEMBERED_ACTIONS",
    "Act",
    "ActionRequest",
    "Asset",
    "ControlBook",
    "ControlView",
    "Entry",
    "IdempotencyConflict",
    "Rules",
    "State",
    "add_years",
]

#: Actions a book remembers by key. When there are more, the oldest closed ones (refused,
#: released, lapsed, or operations done) are forgotten first; open controls are kept.
REMEMBERED_ACTIONS = 100_000


class Act(StrEnum):
    FREEZE = "freeze"
    SEAL = "seal"
    DEDUCT = "deduct"
    RENEW = "renew"
    RELEASE = "release"


_CONTROLS = frozenset({Act.FREEZE, Act.SEAL})


class State(StrEnum):
    RECEIVED = "received"
    EFFECTIVE = "effective"
    WAITING = "waiting"
    REJECTED = "rejected"
    RELEASED = "released"
    LAPSED = "lapsed"


_ACTIVE = frozenset({State.EFFECTIVE, State.WAITING})
_CLOSED = frozenset({State.REJECTED, State.RELEASED, State.LAPSED})

Origin = Literal["dataset", "request"]


class IdempotencyConflict(Exception):
    """The key was used before for a different request."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What differs between institutions."""

    control: Act  # FREEZE for accounts, SEAL for real estate
    legal_years: int  # the longest period of one control
    reports_end_dates: bool = True  # False: the answer leaves the end date out
    deduct_needs_withdrawal_condition: bool = False  # the fund centre's rule


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One control action as an institution reads it off the wire."""

    key: str
    act: Act
    court: str
    case_number: str
    document: str
    subject_id: str
    asset: str
    amount: Decimal | None = None
    currency: str | None = None
    target: str | None = None
    ends_on: date | None = None
    live_seal: bool = False
    withdrawal_condition: str | None = None

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """What makes a repeated key the same request."""
        return (self.act, self.asset, self.amount, self.target)


@dataclass(slots=True, eq=False)
class Entry:
    """A control on an asset, or an action received (a control or an operation)."""

    id: str
    act: Act
    asset: str
    authority: str
    case_number: str
    registered_on: date
    state: State
    origin: Origin
    key: str | None = None
    fingerprint: tuple[object, ...] | None = None
    requested: Decimal | None = None  # the amount asked for
    amount: Decimal | None = None  # frozen now (a freeze), deducted (a deduction)
    effective_on: date | None = None
    ends_on: date | None = None
    requested_end: date | None = None
    live_seal: bool = False
    target: str | None = None
    message: str | None = None
    closed_on: date | None = None
    currency: str = "CNY"
    visible_at: float = 0.0  # event-loop time from which the outcome is reported


@dataclass(slots=True, eq=False)
class Asset:
    """An account or unit as the institution holds it now."""

    identifier: str
    owners: frozenset[str]
    balance: Decimal | None  # None for real estate
    currency: str = "CNY"
    closed: bool = False  # a closed account takes no new controls
    disposed: bool = False
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ControlView:
    """A control or action as ``SandboxAdmin`` reports it.

    ``origin`` is ``"dataset"`` for another court's control from the fictional data and
    ``"request"`` for an action received through the control interface. ``operation`` is
    ``freeze``, ``seal``, ``deduct``, ``renew`` or ``release``; ``state`` is ``effective``,
    ``waiting``, ``rejected``, ``released`` or ``lapsed`` (the truth, even while a
    ``control_feedback_delay`` still shows the action as received). ``amount`` is what a
    freeze holds now or what a deduction took; ``position`` the place in the waiting line.
    """

    id: str
    origin: Origin
    operation: str
    asset: str
    authority: str
    case_number: str
    state: str
    registered_on: date
    idempotency_key: str | None = None
    requested_amount: Decimal | None = None
    amount: Decimal | None = None
    effective_on: date | None = None
    ends_on: date | None = None
    closed_on: date | None = None
    position: int | None = None
    live_seal: bool = False
    target: str | None = None
    message: str | None = None


def add_years(day: date, years: int) -> date:
    """The same date ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _period_end(start: date, years: int) -> date:
    """The last day of a period of ``years`` starting on ``start``, both days counted."""
    return add_years(start, years) - timedelta(days=1)


class ControlBook:
    """One institution's controls and the actions it received, in memory.

    ``resolve`` finds an asset in the dataset by its identifier (with the controls other
    courts hold on it); the book loads each asset once, when first needed.
    """

    def __init__(
        self,
        institution_id: str,
        *,
        seed: int,
        prefix: str,
        rules: Rules,
        resolve: Callable[[str], tuple[Asset, tuple[Control, ...]] | None],
        feedback_delay: Delay = NO_DELAY,
    ) -> None:
        self.institution_id = institution_id
        self.rules = rules
        self._salt = f"{seed}:{institution_id}:"
        self._prefix = prefix
        self._resolve = resolve
        self._feedback_delay = feedback_delay
        self._assets: dict[str, Asset] = {}
        self._actions: OrderedDict[str, Entry] = OrderedDict()
        self._by_id: dict[str, Entry] = {}

    # --- receiving actions ---------------------------------------------------------------

    def submit(self, request: ActionRequest) -> tuple[Entry, bool]:
        """The action for ``request.key`` and whether it was applied now (False: a repeat).

        Raises ``IdempotencyConflict`` when the key was used for a different request.
        """
        existing = self.find(request.key)
        if existing is not None:
            if existing.fingerprint != request.fingerprint:
                raise IdempotencyConflict(request.key)
            return existing, False
        entry = self._apply(request)
        self._remember(entry)
        return entry, True

    def find(self, key: str) -> Entry | None:
        """The action received with ``key``, brought up to date, or ``None``."""
        entry = self._actions.get(key)
        if entry is not None:
            asset = self._assets.get(entry.asset)
            if asset is not None:
                self._refresh(asset)
        return entry

    def reported_state(self, entry: Entry) -> State:
        """The state to answer with: received until the feedback delay has passed."""
        if entry.visible_at and asyncio.get_running_loop().time() < entry.visible_at:
            return State.RECEIVED
        return entry.state

    def reports_end(self, entry: Entry) -> bool:
        """Whether answers carry ``entry``'s end date."""
        return self.rules.reports_end_dates or entry.origin == "dataset"

    def position(self, entry: Entry) -> int | None:
        """The place of a waiting control in its asset's line (1 is the control in force)."""
        if entry.state is not State.WAITING:
            return None
        asset = self._assets[entry.asset]
        ahead = 0
        for other in asset.entries:
            if other is entry:
                break
            if other.state in _ACTIVE:
                ahead += 1
        return ahead + 1

    # --- the asset as inquiries see it ---------------------------------------------------

    def current(self, identifier: str) -> Asset | None:
        """The asset's state if any action touched it, else ``None`` (the dataset holds)."""
        asset = self._assets.get(identifier)
        if asset is not None:
            self._refresh(asset)
        return asset

    def holds(self, asset: Asset) -> tuple[Control, ...]:
        """The controls in force or waiting on ``asset``, as the dataset describes them."""
        return tuple(
            Control(
                authority=e.authority,
                case_number=e.case_number,
                start=e.effective_on or e.registered_on,
                end=e.ends_on if e.state is State.EFFECTIVE and self.reports_end(e) else None,
                amount=e.amount if e.state is State.EFFECTIVE else e.requested,
                position=self.position(e),
            )
            for e in asset.entries
            if e.state in _ACTIVE
        )

    # --- the admin's levers ----------------------------------------------------------------

    def actions(self) -> tuple[ControlView, ...]:
        """Every action received through the interface and still remembered, oldest first."""
        for asset in {e.asset for e in self._actions.values()}:
            if (loaded := self._assets.get(asset)) is not None:
                self._refresh(loaded)
        return tuple(self.view(e) for e in self._actions.values())

    def controls(self, identifier: str) -> tuple[ControlView, ...]:
        """Every control on an asset (the dataset's and those received), oldest first."""
        asset = self._asset(identifier)
        if asset is None:
            raise LookupError(f"{self.institution_id} holds no asset {identifier!r}")
        self._refresh(asset)
        return tuple(self.view(e) for e in asset.entries)

    def release(self, identifier: str, control_id: str | None = None) -> ControlView:
        """Lift a control on an asset, as its own authority would; the line moves up.

        Without ``control_id``, the earliest control in force on the asset.
        """
        asset = self._asset(identifier)
        if asset is None:
            raise LookupError(f"{self.institution_id} holds no asset {identifier!r}")
        self._refresh(asset)
        if control_id is None:
            entry = next((e for e in asset.entries if e.state is State.EFFECTIVE), None)
            if entry is None:
                raise LookupError(f"no control in force on {identifier!r}")
        else:
            entry = next((e for e in asset.entries if e.id == control_id), None)
            if entry is None:
                raise LookupError(f"no control {control_id!r} on {identifier!r}")
            if entry.state not in _ACTIVE:
                raise LookupError(f"control {control_id!r} is {entry.state.value}, not in force")
        self._close(entry, State.RELEASED, "已由作出机关解除")
        self._settle(asset)
        return self.view(entry)

    def dispose(self, identifier: str) -> tuple[ControlView, ...]:
        """The asset is disposed of (sold, paid out): every control on it lapses.

        An account's balance becomes 0; no control can be placed on the asset afterwards.
        Returns the controls that lapsed.
        """
        asset = self._asset(identifier)
        if asset is None:
            raise LookupError(f"{self.institution_id} holds no asset {identifier!r}")
        self._refresh(asset)
        ended = [e for e in asset.entries if e.state in _ACTIVE]
        for entry in ended:
            self._close(entry, State.LAPSED, "财产已处置，措施失效")
        asset.disposed = True
        if asset.balance is not None:
            asset.balance = ZERO
        return tuple(self.view(e) for e in ended)

    def view(self, entry: Entry) -> ControlView:
        return ControlView(
            id=entry.id,
            origin=entry.origin,
            operation=entry.act.value,
            asset=entry.asset,
            authority=entry.authority,
            case_number=entry.case_number,
            state=entry.state.value,
            registered_on=entry.registered_on,
            idempotency_key=entry.key,
            requested_amount=entry.requested,
            amount=entry.amount,
            effective_on=entry.effective_on,
            ends_on=entry.ends_on,
            closed_on=entry.closed_on,
            position=self.position(entry) if entry.act in _CONTROLS else None,
            live_seal=entry.live_seal,
            target=entry.target,
            message=entry.message,
        )

    # --- applying ------------------------------------------------------------------------

    def _apply(self, request: ActionRequest) -> Entry:
        today = shanghai_today()
        loop_time = asyncio.get_running_loop().time()
        entry = Entry(
            id=self._id(request.key),
            act=request.act,
            asset=request.asset,
            authority=request.court,
            case_number=request.case_number,
            registered_on=today,
            state=State.REJECTED,
            origin="request",
            key=request.key,
            fingerprint=request.fingerprint,
            requested=request.amount,
            requested_end=request.ends_on,
            live_seal=request.live_seal,
            target=request.target,
            visible_at=loop_time + delay
            if (delay := self._feedback_delay.for_key(request.key))
            else 0.0,
        )
        asset = self._asset(request.asset)
        if asset is not None:
            entry.currency = asset.currency
        refusal = self._common_refusal(request, asset)
        if refusal is None and asset is not None:
            self._refresh(asset)
            if request.act in _CONTROLS:
                refusal = self._control(request, asset, entry, today)
            else:
                refusal = self._operation(request, asset, entry, today)
        if refusal is not None:
            entry.state, entry.message = State.REJECTED, refusal
        return entry

    def _common_refusal(self, request: ActionRequest, asset: Asset | None) -> str | None:
        if not request.document.strip():
            return "未提供协助执行通知书文号"
        if not request.court.strip():
            return "未提供执行法院"
        if asset is None:
            return "未找到该财产（账号或不动产单元号有误）"
        if request.subject_id not in asset.owners:
            return "该财产不属于被执行人"
        return None

    def _control(
        self, request: ActionRequest, asset: Asset, entry: Entry, today: date
    ) -> str | None:
        """Freeze or seal. Returns a refusal, or ``None`` with ``entry`` applied."""
        rules = self.rules
        if request.act is not rules.control:
            return "本机构不办理该类控制措施"
        if asset.disposed:
            return "该财产已处置"
        if asset.closed:
            return "账户已销户，无法冻结"
        if request.ends_on is not None and request.ends_on < today:
            return "结束日期早于今日"
        if asset.balance is not None:  # a freeze, for an amount
            if request.amount is None or request.amount <= 0:
                return "冻结金额应大于零"
            if request.currency is not None and request.currency != asset.currency:
                return "冻结币种与账户币种不符"
            available = self._available(asset)
            holding = any(e.state in _ACTIVE for e in asset.entries)
            if available > 0 or not holding:
                entry.amount = min(request.amount, available)
                self._take_effect(entry, today)
                if entry.amount < request.amount:
                    entry.message = (
                        f"可冻结余额不足，实际冻结 {entry.amount:.2f}"
                        if entry.amount > 0
                        else "账户无可冻结余额，实际冻结 0.00"
                    )
            else:
                entry.state, entry.message = State.WAITING, "已办理轮候冻结"
        elif any(e.state is State.EFFECTIVE for e in asset.entries):
            entry.state, entry.message = State.WAITING, "已办理轮候查封"
        else:
            self._take_effect(entry, today)
        asset.entries.append(entry)
        return None

    def _operation(
        self, request: ActionRequest, asset: Asset, entry: Entry, today: date
    ) -> str | None:
        """Deduct, renew or release. Returns a refusal, or ``None`` with everything applied."""
        if not request.target:
            return "未提供原控制编号"
        target = self._by_id.get(request.target)
        if target is None or target.act not in _CONTROLS:
            return "未找到原控制编号对应的控制措施"
        if target.asset != asset.identifier:
            return "原控制措施不在该财产上"
        if target.origin != "request" or target.authority != request.court:
            return "原控制措施非本院办理，不能办理该业务"
        match request.act:
            case Act.DEDUCT:
                refusal = self._deduct(request, asset, target, entry)
            case Act.RENEW:
                refusal = self._renew(request, target, entry, today)
            case _:
                refusal = self._release(asset, target)
        if refusal is None:
            entry.state, entry.effective_on = State.EFFECTIVE, today
        return refusal

    def _deduct(
        self, request: ActionRequest, asset: Asset, target: Entry, entry: Entry
    ) -> str | None:
        if target.act is not Act.FREEZE or asset.balance is None:
            return "扣划须针对冻结措施"
        if target.state is not State.EFFECTIVE or target.amount is None:
            return "原冻结措施不在有效状态，不能扣划"
        if self.rules.deduct_needs_withdrawal_condition and not (
            request.withdrawal_condition and request.withdrawal_condition.strip()
        ):
            return "扣划住房公积金须符合提取条件，请提供提取条件（tqtj）"
        if request.amount is None or request.amount <= 0:
            return "扣划金额应大于零"
        if request.amount > target.amount:
            return "扣划金额超过冻结金额"
        target.amount -= request.amount
        asset.balance -= request.amount
        entry.amount = request.amount
        if target.amount == 0:
            self._close(target, State.RELEASED, "冻结款项已全额扣划")
        return None

    def _renew(
        self, request: ActionRequest, target: Entry, entry: Entry, today: date
    ) -> str | None:
        if target.state is not State.EFFECTIVE or target.ends_on is None:
            return "原控制措施不在有效状态，不能续行"
        old_end = target.ends_on
        longest = _period_end(old_end + timedelta(days=1), self.rules.legal_years)
        new_end = request.ends_on or longest
        if new_end <= old_end:
            return "续行后的结束日期应晚于原结束日期"
        if new_end > longest:
            new_end = longest
            entry.message = "续行期限超过法定最长期限，已按最长期限办理"
        target.ends_on = new_end
        entry.ends_on = new_end
        return None

    def _release(self, asset: Asset, target: Entry) -> str | None:
        if target.state not in _ACTIVE:
            return "原控制措施已解除或失效"
        self._close(target, State.RELEASED, "已解除")
        self._settle(asset)
        return None

    def _take_effect(self, entry: Entry, today: date) -> None:
        entry.state = State.EFFECTIVE
        entry.effective_on = today
        longest = _period_end(today, self.rules.legal_years)
        wanted = entry.requested_end
        if wanted is None or wanted < today:
            entry.ends_on = longest
        elif wanted > longest:
            entry.ends_on = longest
            entry.message = "期限超过法定最长期限，已按最长期限办理"
        else:
            entry.ends_on = wanted

    def _close(self, entry: Entry, state: State, message: str) -> None:
        entry.state = state
        entry.closed_on = shanghai_today()
        entry.message = message

    def _available(self, asset: Asset) -> Decimal:
        assert asset.balance is not None
        held = sum((e.amount or ZERO for e in asset.entries if e.state is State.EFFECTIVE), ZERO)
        return max(asset.balance - held, ZERO)

    def _refresh(self, asset: Asset) -> None:
        """Lapse the controls whose period has ended, then let the line move up."""
        today = shanghai_today()
        lapsed = False
        for entry in asset.entries:
            if (
                entry.state is State.EFFECTIVE
                and entry.ends_on is not None
                and entry.ends_on < today
            ):
                self._close(entry, State.LAPSED, "期限届满未续行，已失效")
                lapsed = True
        if lapsed:
            self._settle(asset)

    def _settle(self, asset: Asset) -> None:
        """Convert the earliest waiting controls as far as the asset allows."""
        if asset.disposed:
            return
        today = shanghai_today()
        for entry in asset.entries:
            if entry.state is not State.WAITING:
                continue
            if asset.balance is None:  # a seal: one in force at a time
                if any(e.state is State.EFFECTIVE for e in asset.entries):
                    return
                entry.amount = None
            else:
                available = self._available(asset)
                if available <= 0:
                    return
                entry.amount = min(entry.requested or available, available)
            self._take_effect(entry, today)
            entry.message = "轮候措施已转为正式措施"

    # --- bookkeeping ---------------------------------------------------------------------

    def _asset(self, identifier: str) -> Asset | None:
        asset = self._assets.get(identifier)
        if asset is not None:
            return asset
        found = self._resolve(identifier)
        if found is None:
            return None
        asset, controls = found
        for i, control in enumerate(controls):
            entry = Entry(
                id=self._id(f"dataset:{identifier}:{i}"),
                act=self.rules.control,
                asset=identifier,
                authority=control.authority,
                case_number=control.case_number,
                registered_on=control.start,
                state=State.WAITING if control.waiting else State.EFFECTIVE,
                origin="dataset",
                requested=control.amount,
                amount=None if control.waiting else control.amount,
                effective_on=None if control.waiting else control.start,
                ends_on=control.end,
            )
            asset.entries.append(entry)
            self._by_id[entry.id] = entry
        self._assets[identifier] = asset
        return asset

    def _id(self, key: str) -> str:
        digest = hashlib.blake2b((self._salt + key).encode(), digest_size=8).hexdigest()
        return self._prefix + digest.upper()

    def _remember(self, entry: Entry) -> None:
        assert entry.key is not None
        self._actions[entry.key] = entry
        self._by_id[entry.id] = entry
        if len(self._actions) > REMEMBERED_ACTIONS:
            self._forget_one()

    def _forget_one(self) -> None:
        """Forget the oldest closed action; keep every open control."""
        found = next(
            (e for e in self._actions.values() if e.state in _CLOSED or e.act not in _CONTROLS),
            None,
        )
        if found is None or found.key is None:
            return  # every action remembered is an open control: keep them all
        del self._actions[found.key]
        self._by_id.pop(found.id, None)
        asset = self._assets.get(found.asset)
        if asset is not None and found in asset.entries:
            asset.entries.remove(found)
