"""The adapter contract: what every institution adapter is, and what it is not.

An adapter knows one institution type's wire protocol. It builds the request, sends it on the
``httpx.AsyncClient`` it is given (already pointed at the institution, with its credentials,
timeouts and pool), parses the answer and maps it into ``AssetRecord`` objects.

It does not retry, poll on a timer, log personal data or know other institutions exist: the
dispatcher does all of that around it. It reports trouble by raising the typed errors of
``assetquery`` (retryable or not), never by returning half an answer.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar

import httpx

from .._errors import (
    AdapterError,
    InstitutionFailure,
    InstitutionRejected,
    InstitutionTimeout,
    InstitutionUnavailable,
    InstitutionUnreachable,
    MalformedResponse,
)
from .._identifiers import safe_code, scrub
from .._models import AssetRecord, Case, Operation, Party, PartyKind, ResultStatus
from .._money import Money

__all__ = [
    "Adapter",
    "ControlRequest",
    "ControlState",
    "ControlStatus",
    "InquiryAnswer",
    "InquiryRequest",
    "Institution",
    "Operation",
    "ResultCodes",
    "check_status",
    "retry_after_seconds",
]


#: what ``Adapter.send`` turns into typed errors (timeouts are transport errors)
_TRANSPORT_FAILURES = (httpx.TransportError, httpx.DecodingError)


@dataclass(frozen=True, slots=True)
class Institution:
    """What an adapter may know of the institution it talks to.

    ``options`` holds the adapter-specific settings of the institution's configuration
    (its ``[institutions.options]`` table).
    """

    id: str
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InquiryRequest:
    """One inquiry: whose assets, under which case.

    ``request_id`` is unique to this lookup and institution and stays the same across
    retries, so institutions that de-duplicate by it hand back the same ticket.
    """

    party: Party
    case: Case
    request_id: str


@dataclass(frozen=True, slots=True)
class InquiryAnswer:
    """An adapter's answer: found, nothing there, or not ready yet (with a ticket)."""

    status: ResultStatus
    assets: tuple[AssetRecord, ...] = ()
    ticket: str | None = None
    poll_after: float | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (ResultStatus.OK, ResultStatus.NOT_FOUND, ResultStatus.PENDING):
            raise ValueError(
                f"an adapter answers ok, not_found or pending, not {self.status.value}; "
                "report failures by raising an AdapterError"
            )
        if self.status is ResultStatus.PENDING and not self.ticket:
            raise ValueError("a pending answer needs the ticket to poll with")

    @classmethod
    def found(
        cls, assets: tuple[AssetRecord, ...], *, reference: str | None = None
    ) -> InquiryAnswer:
        status = ResultStatus.OK if assets else ResultStatus.NOT_FOUND
        return cls(status, assets=assets, reference=reference)

    @classmethod
    def not_found(cls, *, reference: str | None = None) -> InquiryAnswer:
        return cls(ResultStatus.NOT_FOUND, reference=reference)

    @classmethod
    def pending(cls, ticket: str, *, poll_after: float | None = None) -> InquiryAnswer:
        return cls(ResultStatus.PENDING, ticket=ticket, poll_after=poll_after)


class ControlState(StrEnum):
    """Where a control action stands at the institution, as the institution says."""

    RECEIVED = "received"  # accepted for processing, not yet in force
    EFFECTIVE = "effective"  # in force (a freeze, a seal) or done (a renewal, a deduction)
    WAITING = "waiting"  # registered in the waiting line behind another authority's control
    REJECTED = "rejected"  # refused; nothing was applied
    RELEASED = "released"  # a control that was in force has been lifted
    LAPSED = "lapsed"  # ended without release: expired, or the asset was disposed of
    UNKNOWN = "unknown"  # the institution has no record of this idempotency key


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """One control action sent to an institution: freeze, seal, deduct, renew or release.

    ``idempotency_key`` is stored by the ledger before the request is sent; institutions
    de-duplicate by it, so sending it twice never controls the asset twice. ``target`` is the
    institution's own reference of the control a renewal, release or deduction acts on.
    """

    operation: Operation
    idempotency_key: str
    party: Party
    case: Case
    asset_kind: str
    asset_identifier: str
    amount: Money | None = None
    target: str | None = None
    ends_on: date | None = None
    live_seal: bool = False
    withdrawal_condition: str | None = None


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """An institution's answer about one control action."""

    state: ControlState
    reference: str | None = None
    effective_on: date | None = None
    ends_on: date | None = None
    amount: Money | None = None
    waiting_position: int | None = None
    message: str | None = None


class Adapter(abc.ABC):
    """Base class of institution adapters.

    Subclasses set ``name`` (the ``adapter =`` value in configuration and the entry-point
    name), ``capabilities``, and implement ``inquire`` (and ``poll`` when the
    institution answers with a ticket).
    """

    #: the adapter's name in configuration and in the ``assetquery.adapters`` entry points
    name: ClassVar[str]
    #: the operations this institution type offers
    capabilities: ClassVar[frozenset[Operation]] = frozenset({Operation.INQUIRY})
    #: the asset kinds it reports
    asset_kinds: ClassVar[frozenset[str]] = frozenset()
    #: the kinds of party the institution can hold assets for
    party_kinds: ClassVar[frozenset[PartyKind]] = frozenset(PartyKind)

    def __init__(self, institution: Institution) -> None:
        self.institution = institution

    def serves(self, party: Party) -> bool:
        """Whether asking about ``party`` makes sense here (a fund centre has no companies)."""
        return party.kind in self.party_kinds

    @abc.abstractmethod
    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        """Ask the institution what ``request.party`` holds there."""

    async def poll(
        self, client: httpx.AsyncClient, ticket: str, request: InquiryRequest
    ) -> InquiryAnswer:
        """Fetch the answer behind a ticket an earlier ``inquire`` returned."""
        raise InstitutionFailure(
            f"{self.name} adapter returned a ticket but cannot poll", code="poll_unsupported"
        )

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        """Send a control action. Only for operations in ``capabilities``.

        Must carry ``request.idempotency_key`` so the institution can de-duplicate it. The
        dispatcher never retries a submission; after an ambiguous failure it asks
        ``control_status`` instead.
        """
        raise InstitutionRejected(
            f"{self.institution.name} does not accept {request.operation.value} requests "
            "through this adapter",
            code="unsupported_operation",
        )

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        """Where the action with ``request.idempotency_key`` stands at the institution.

        ``ControlState.UNKNOWN`` means the institution never received it.
        """
        raise InstitutionRejected(
            f"{self.institution.name} offers no status query through this adapter",
            code="unsupported_operation",
        )

    async def send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        readable: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request, turning transport failures and HTTP errors into typed errors.

        Statuses in ``readable`` come back to be read instead of raising: on some interfaces
        a 404 or 409 is an answer ("no such key", "key used for another request").
        """
        # The status is judged before the body is read: a busy gateway's error page with a
        # broken encoding or an oversized body is still "busy", and so still retried.
        try:
            request = client.build_request(method, url, **kwargs)
            response = await client.send(request, stream=True)
        except _TRANSPORT_FAILURES as exc:
            raise self._translated(exc) from exc
        # Most answers arrive read and closed (see CappedTransport): nothing to await then.
        try:
            if response.status_code not in readable:
                check_status(response, self.institution.name)
            # A readable error status whose body never arrived whole (cut short, too large)
            # is judged by its status after all: a 409 cut short is still a refusal.
            if not response.is_closed:
                try:
                    await response.aread()
                except _TRANSPORT_FAILURES as exc:
                    check_status(response, self.institution.name)
                    raise self._translated(exc) from exc
                except AdapterError:
                    check_status(response, self.institution.name)
                    raise
        finally:
            if not response.is_closed:
                await response.aclose()
        return response

    def _translated(self, exc: httpx.TransportError | httpx.DecodingError) -> AdapterError:
        """httpx's transport and decoding failures as the adapter's typed errors."""
        name = self.institution.name
        if isinstance(exc, httpx.TimeoutException):
            return InstitutionTimeout(
                f"{name} did not answer in time ({type(exc).__name__})", code="timeout"
            )
        if isinstance(exc, httpx.TransportError):
            return InstitutionUnreachable(
                f"{name} could not be reached ({type(exc).__name__})", code="connection"
            )
        return MalformedResponse(
            f"{name} sent a body that cannot be decoded ({type(exc).__name__})",
            code="malformed_encoding",
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.institution.id}>"


@dataclass(frozen=True, slots=True)
class ResultCodes:
    """An institution's own result codes (sent inside an HTTP 200) and what they mean.

    ``answered`` codes are answers (found, nothing found); ``rejected`` maps the codes of a
    refusal to a short reason; ``busy`` codes are worth retrying; any other code is the
    institution's own failure. Error codes are reported as ``{prefix}_{code}``.
    """

    prefix: str
    answered: frozenset[str]
    rejected: Mapping[str, str] = field(default_factory=dict)
    busy: frozenset[str] = frozenset()

    def check(
        self,
        code: str,
        message: str | None,
        institution: str,
        *,
        subject: str = "inquiry",
        hide: Iterable[str] = (),
    ) -> None:
        """Return quietly for an answer; raise the typed error any other code stands for.

        ``subject`` names what was refused in the message ("inquiry", "control request");
        the institution's ``message`` is scrubbed of personal data (and of ``hide``, e.g.
        the party's name) before it goes into the error.
        """
        if code in self.answered:
            return
        said = f": {scrub(message, hide=hide)}" if message else ""
        shown = safe_code(code)
        tag = f"{self.prefix}_{shown}"
        if code in self.rejected:
            raise InstitutionRejected(
                f"{institution} refused the {subject} ({self.rejected[code]}){said}", code=tag
            )
        if code in self.busy:
            raise InstitutionUnavailable(f"{institution} is busy{said}", code=tag)
        raise InstitutionFailure(f"{institution} reported error {shown}{said}", code=tag)


_BUSY = frozenset({429, 502, 503, 504})


# ASCII digits (str.isdigit() also accepts "²"), and at most about a month of them.
def idempotency_conflict(institution: str, reported: str | None = None) -> InstitutionRejected:
    """The refusal of a control action whose idempotency key was used for another request.

    Raise it where the institution says the key is taken by a *different* action (often a
    409): the action was not applied, and sending it again cannot help. The same action sent
    twice is not a conflict: answer with its status.
    """
    detail = f" ({reported})" if reported else ""
    return InstitutionRejected(
        f"{institution} refused the control action: its idempotency key was used for a "
        f"different request{detail}",
        code="idempotency_conflict",
    )


def check_same_action(
    echoed: str | None, request: ControlRequest, institution: str, field: str
) -> None:
    """An answer that names another action's key (in ``field``) is not about this one.

    Call it on every submission and status answer that echoes the key: a mixed-up answer
    must fail as ``MalformedResponse``, never be recorded against the wrong action.
    """
    if echoed is not None and echoed != request.idempotency_key:
        raise MalformedResponse(
            f"{institution} answered about another control action (field {field} differs)",
            code="unexpected_shape",
        )


_SECONDS = re.compile(r"[0-9]{1,7}", re.ASCII)


def check_status(response: httpx.Response, institution: str = "the institution") -> None:
    """Raise the typed error an HTTP error status stands for; return quietly on 1xx-3xx.

    429, 502, 503 and 504 are retryable (with ``Retry-After`` when given); other 4xx are
    the institution refusing the request; other 5xx are its own failures, not retried.
    """
    code = response.status_code
    if code < 400:
        return
    phrase = response.reason_phrase or "error"
    if code in _BUSY:
        raise InstitutionUnavailable(
            f"{institution} answered HTTP {code} {phrase}",
            code=f"http_{code}",
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    if code < 500:
        reason = "refused our credentials" if code in (401, 403) else "rejected the request"
        raise InstitutionRejected(
            f"{institution} {reason}: HTTP {code} {phrase}", code=f"http_{code}"
        )
    raise InstitutionFailure(f"{institution} failed: HTTP {code} {phrase}", code=f"http_{code}")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            return None
        reference = now or datetime.now(when.tzinfo)
        return max((when - reference).total_seconds(), 0.0)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # not a date either: as if the institution had said nothing
