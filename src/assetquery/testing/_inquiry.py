"""The inquiry half of the conformance kit: samples, mocks, runners and the inquiry checks."""

from __future__ import annotations

import asyncio
import inspect
import re
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import httpx

from .._errors import (
    AdapterError,
    InstitutionRejected,
    InstitutionTimeout,
    InstitutionUnreachable,
    RetryableAdapterError,
)
from .._models import (
    AssetRecord,
    AssetStatus,
    Case,
    Encumbrance,
    Owner,
    Party,
    PartyKind,
    Provenance,
    ResultStatus,
)
from .._money import Money
from ..adapters import (
    ENTRY_POINT_GROUP,
    Adapter,
    InquiryAnswer,
    InquiryRequest,
    Institution,
    Operation,
    load_adapter,
)

if TYPE_CHECKING:
    import pytest
    from respx import MockRouter, Router

__all__ = [
    "AdapterConformance",
    "assert_normalized",
    "mock_institution",
    "run_inquiry",
    "run_poll",
    "sample_case",
    "sample_organization",
    "sample_person",
]


# --- sample parties and cases -------------------------------------------------------------

# Synthetic, checksum-valid numbers: they belong to nobody.
_SAMPLE_RESIDENT_ID = "110105199003071239"
_SAMPLE_CREDIT_CODE = "91620100MA0000000C"


def sample_person() -> Party:
    """A valid natural person to inquire about (fictitious name and resident ID)."""
    return Party.person("张三", _SAMPLE_RESIDENT_ID)


def sample_organization() -> Party:
    """A valid organization to inquire about (fictitious name and credit code)."""
    return Party.organization("甘肃示例商贸有限公司", _SAMPLE_CREDIT_CODE)


def sample_case() -> Case:
    """A valid enforcement case with an operator and a claim, as inquiries are made under."""
    return Case(
        number="（2024）甘0191执1234号",
        operator="执行员甲",
        court="兰州新区人民法院",
        claim="150000.00",
    )


# --- mocking and running ------------------------------------------------------------------


# Where each router from mock_institution() answers, so run_inquiry() needs no base_url.
_BASE_URLS: weakref.WeakKeyDictionary[Router, str] = weakref.WeakKeyDictionary()


def mock_institution(base_url: str, *, assert_all_called: bool = True) -> MockRouter:
    """A respx router answering for the institution at ``base_url``; use it with ``with``.

    Routes registered on it are relative to ``base_url``. With ``assert_all_called`` (the
    default) leaving the ``with`` block fails if a registered route was never requested; a
    request no route matches fails at once.
    """
    try:
        import respx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "assetquery.testing mocks institutions with respx, which is not installed: "
            "pip install respx"
        ) from exc
    router = respx.mock(base_url=base_url, assert_all_called=assert_all_called)
    _BASE_URLS[router] = base_url
    return router


def _base_url_of(router: Router, base_url: str | None) -> str:
    if base_url is not None:
        return base_url
    try:
        return _BASE_URLS[router]
    except KeyError:
        raise TypeError(
            "pass base_url=..., or build the router with mock_institution(base_url)"
        ) from None


@asynccontextmanager
async def _client(router: Router, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # The router is the client's only transport, so a request can never reach the network,
    # whether or not the router is also patching httpx globally.
    transport = httpx.MockTransport(router.async_handler)
    async with httpx.AsyncClient(base_url=base_url, transport=transport) as client:
        yield client


def run_inquiry(
    adapter: Adapter, request: InquiryRequest, router: Router, *, base_url: str | None = None
) -> InquiryAnswer:
    """Run ``adapter.inquire`` to completion against ``router`` and return its answer.

    The client is pointed at ``base_url`` (by default the one ``router`` was built for by
    ``mock_institution``), as the dispatcher points it at the institution, and its only
    transport is ``router``. For synchronous tests (it calls ``asyncio.run``); in an
    async test, ``await adapter.inquire(...)`` yourself.
    """
    url = _base_url_of(router, base_url)

    async def inquire() -> InquiryAnswer:
        async with _client(router, url) as client:
            return await adapter.inquire(client, request)

    return asyncio.run(inquire())


def run_poll(
    adapter: Adapter,
    ticket: str,
    request: InquiryRequest,
    router: Router,
    *,
    base_url: str | None = None,
) -> InquiryAnswer:
    """Run ``adapter.poll`` for ``ticket`` to completion against ``router``.

    See ``run_inquiry``.
    """
    url = _base_url_of(router, base_url)

    async def poll() -> InquiryAnswer:
        async with _client(router, url) as client:
            return await adapter.poll(client, ticket, request)

    return asyncio.run(poll())


# How often the found scenario polls an institution that always answers with a ticket.
_MAX_POLLS = 3


def _settle(
    adapter: Adapter, request: InquiryRequest, router: Router, base_url: str
) -> InquiryAnswer:
    """Inquire, then poll while the answer is pending, as the dispatcher would."""

    async def settle() -> InquiryAnswer:
        async with _client(router, base_url) as client:
            answer = await adapter.inquire(client, request)
            for _ in range(_MAX_POLLS):
                if answer.status is not ResultStatus.PENDING or answer.ticket is None:
                    break
                answer = await adapter.poll(client, answer.ticket, request)
            return answer

    return asyncio.run(settle())


# --- record normalization -----------------------------------------------------------------

# The shape AssetRecord.kind must have.
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _money_problems(field: str, money: object, *, optional: bool = True) -> list[str]:
    if money is None:
        return [] if optional else [f"{field} is missing"]
    if not isinstance(money, Money):
        return [f"{field} is a {type(money).__name__}, not Money"]
    problems = []
    if not isinstance(money.amount, Decimal):
        problems.append(f"{field}.amount is a {type(money.amount).__name__}, not Decimal")
    elif not money.amount.is_finite():
        problems.append(f"{field}.amount is not a finite number")
    if not isinstance(money.currency, str) or not _CURRENCY.fullmatch(money.currency):
        problems.append(f"{field}.currency is not a three-letter ISO 4217 code")
    return problems


def _encumbrance_problems(field: str, encumbrance: object) -> list[str]:
    if not isinstance(encumbrance, Encumbrance):
        return [f"{field} is a {type(encumbrance).__name__}, not Encumbrance"]
    problems = _money_problems(f"{field}.amount", encumbrance.amount)
    if encumbrance.position is not None and encumbrance.position < 1:
        problems.append(f"{field}.position is not 1 or more")
    return problems


def _share_problems(field: str, share: object) -> list[str]:
    if share is None:
        return []
    if not isinstance(share, Fraction) or not 0 < share <= 1:
        return [f"{field} is not a Fraction in (0, 1]"]
    return []


def assert_normalized(
    record: object,
    institution_id: str,
    asset_kinds: Collection[str],
    *,
    adapter_name: str | None = None,
    label: str = "record",
) -> None:
    """Assert that ``record`` is an ``AssetRecord`` the rest of assetquery can rely on.

    Checked: it belongs to ``institution_id``; its kind is one of ``asset_kinds``; identifier,
    identifier type and owner name are non-empty; every amount (value, available,
    encumbrance amounts) is ``Money`` with a finite ``Decimal`` and an ISO currency, and
    value and available share one currency; shares are fractions in (0, 1]; ``as_of`` is
    timezone-aware; provenance names the institution (and ``adapter_name`` when given) with
    an aware ``received_at``; details map text to text.

    Records built with ``model_construct`` skip pydantic's validation, which is why the
    types are checked again here. Every problem is reported at once, naming fields, never
    their values. ``label`` says which record the message is about.
    """
    if not isinstance(record, AssetRecord):
        raise AssertionError(f"{label} is a {type(record).__name__}, not an AssetRecord")
    problems: list[str] = []
    if record.institution != institution_id:
        problems.append(
            f"institution is {record.institution!r}, not the institution id {institution_id!r}"
        )
    if record.kind not in asset_kinds:
        problems.append(
            f"kind {record.kind!r} is not among the adapter's asset_kinds {sorted(asset_kinds)}"
        )
    if not isinstance(record.identifier, str) or not record.identifier.strip():
        problems.append("identifier is empty")
    if not isinstance(record.identifier_type, str) or not record.identifier_type.strip():
        problems.append("identifier_type is empty")
    owners = [("owner", record.owner)] + [
        (f"co_owners[{i}]", owner) for i, owner in enumerate(record.co_owners)
    ]
    for field, owner in owners:
        if not isinstance(owner, Owner):
            problems.append(f"{field} is a {type(owner).__name__}, not Owner")
            continue
        if not isinstance(owner.name, str) or not owner.name.strip():
            problems.append(f"{field}.name is empty")
        problems += _share_problems(f"{field}.share", owner.share)
    problems += _money_problems("value", record.value)
    problems += _money_problems("available", record.available)
    if (
        isinstance(record.value, Money)
        and isinstance(record.available, Money)
        and record.value.currency != record.available.currency
    ):
        problems.append("value and available are in different currencies")
    problems += _share_problems("share", record.share)
    for i, encumbrance in enumerate(record.encumbrances):
        problems += _encumbrance_problems(f"encumbrances[{i}]", encumbrance)
    if not isinstance(record.status, AssetStatus):
        problems.append("status is not an AssetStatus")
    if not _is_aware(record.as_of):
        problems.append("as_of is not a timezone-aware datetime")
    if not isinstance(record.details, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in record.details.items()
    ):
        problems.append("details is not a mapping of text to text")
    provenance = record.provenance
    if not isinstance(provenance, Provenance):
        problems.append("provenance is missing")
    else:
        if provenance.institution != institution_id:
            problems.append(
                f"provenance.institution is {provenance.institution!r}, not {institution_id!r}"
            )
        if not isinstance(provenance.adapter, str) or not provenance.adapter.strip():
            problems.append("provenance.adapter is empty")
        elif adapter_name is not None and provenance.adapter != adapter_name:
            problems.append(f"provenance.adapter is {provenance.adapter!r}, not {adapter_name!r}")
        if not _is_aware(provenance.received_at):
            problems.append("provenance.received_at is not a timezone-aware datetime")
    if problems:
        listing = "\n  - ".join(problems)
        raise AssertionError(f"{label} ({record.kind}) is not normalized:\n  - {listing}")


# --- what the kit throws at an adapter ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Expectation:
    """The error an adapter must raise for one kind of trouble."""

    error: type[AdapterError]
    retryable: bool

    def describe(self) -> str:
        kind = "retryable" if self.retryable else "non-retryable"
        return f"a {kind} {self.error.__name__}"


_BUSY = _Expectation(RetryableAdapterError, retryable=True)
_REJECTED = _Expectation(InstitutionRejected, retryable=False)
_FAILED = _Expectation(AdapterError, retryable=False)
_UNREACHABLE = _Expectation(InstitutionUnreachable, retryable=True)
_TIMEOUT = _Expectation(InstitutionTimeout, retryable=True)

# A gateway's error page: what institutions really send with an error status.
_ERROR_PAGE = b"<html><head><title>Error</title></head><body><h1>Error</h1></body></html>"
_RETRY_AFTER = 7

_HTTP_STATUSES: dict[int, _Expectation] = {
    429: _BUSY,
    502: _BUSY,
    503: _BUSY,
    504: _BUSY,
    400: _REJECTED,
    401: _REJECTED,
    403: _REJECTED,
    404: _REJECTED,
    500: _FAILED,
}

_TRANSPORT_FAILURES: dict[str, tuple[type[httpx.TransportError], _Expectation]] = {
    "connect_error": (httpx.ConnectError, _UNREACHABLE),
    "connect_timeout": (httpx.ConnectTimeout, _TIMEOUT),
    "read_timeout": (httpx.ReadTimeout, _TIMEOUT),
    "connection_closed_mid_answer": (httpx.RemoteProtocolError, _UNREACHABLE),
}

# Bodies sent with HTTP 200 and the content type of the real answer. ``None`` marks the
# found answer cut in half, which is built from the author's sample at run time.
_TRUNCATED = "truncated"
_BAD_ENCODING = "bad_content_encoding"
_MALFORMED_BODIES: dict[str, bytes | None] = {
    "garbage": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xde\xad\xbe\xef\xff\xfe\x81\x00",
    "empty": b"",
    _TRUNCATED: None,
    "html_page": b"<html><body><p>Service temporarily unavailable</p></body></html>",
    "json_object": b"{}",
    "json_array": b"[]",
    "json_null": b"null",
    "xml_element": b"<x/>",
    # declared gzip, sent plain: what a misconfigured gateway does
    _BAD_ENCODING: b"this body is not gzip",
}


# --- judging outcomes ---------------------------------------------------------------------

_Outcome = InquiryAnswer | Exception


def _attempt(call: Callable[[], InquiryAnswer]) -> _Outcome:
    try:
        return call()
    except Exception as exc:  # the kit judges whatever escapes the adapter
        return exc


def _is_unmocked(error: BaseException) -> bool:
    from respx.models import AllMockedAssertionError

    return isinstance(error, AllMockedAssertionError)


def _fail(message: str, cause: BaseException | None = None) -> NoReturn:
    raise AssertionError(message) from cause


def _skip(reason: str) -> NoReturn:
    import pytest  # the checks only run under pytest; the module imports without it

    pytest.skip(reason)


def _personal_data_in(error: AdapterError, party: Party) -> str | None:
    text = f"{error.code} {error.message}"
    if party.id_number in text:
        return "the party's ID number"
    if len(party.name) >= 2 and party.name in text:
        return "the party's name"
    return None


def _expect_error(
    outcome: _Outcome, expected: _Expectation, situation: str, party: Party
) -> AdapterError:
    """The adapter's error for ``situation``, or an AssertionError saying what went wrong."""
    wanted = expected.describe()
    if isinstance(outcome, InquiryAnswer):
        _fail(f"{situation}: the adapter answered {outcome.status.value}; expected {wanted}")
    if not isinstance(outcome, AdapterError):
        _fail(
            f"{situation}: the adapter let {type(outcome).__name__} escape ({outcome}); "
            f"expected {wanted}. Adapters report trouble only with AdapterError subclasses.",
            outcome,
        )
    if not isinstance(outcome, expected.error) or outcome.retryable is not expected.retryable:
        kind = "retryable" if outcome.retryable else "non-retryable"
        _fail(
            f"{situation}: the adapter raised a {kind} {type(outcome).__name__} "
            f"(code {outcome.code!r}); expected {wanted}",
            outcome,
        )
    leaked = _personal_data_in(outcome, party)
    if leaked is not None:
        _fail(
            f"{situation}: the {type(outcome).__name__} message contains {leaked}; error "
            "messages reach logs, so name the field, never the value",
            outcome,
        )
    return outcome


def _expect_answer(outcome: _Outcome, hook: str) -> InquiryAnswer:
    if isinstance(outcome, InquiryAnswer):
        return outcome
    if _is_unmocked(outcome):
        _fail(f"the adapter sent a request that {hook}() did not route", outcome)
    detail = f"{type(outcome).__name__}: {outcome}"
    _fail(f"with the institution answering as {hook}() mocks, the adapter raised {detail}", outcome)


def _assert_routes_used(router: MockRouter, hook: str) -> None:
    unused = [route for route in router.routes if not route.called]
    if unused:
        patterns = ", ".join(route.name or repr(route.pattern) for route in unused)
        _fail(f"{hook}() registered routes the adapter never requested: {patterns}")


@dataclass(frozen=True, slots=True)
class _Sample:
    """A real answer's body and content type, to build malformed answers from."""

    body: bytes
    content_type: str


def _answer_sample(router: MockRouter, which: int) -> _Sample:
    # Read before the router's ``with`` block ends: leaving it clears the recorded calls.
    calls = list(router.calls)
    if not calls or not calls[which].has_response:
        _fail("the institution gave no answer to build malformed bodies from")
    response: httpx.Response = calls[which].response
    return _Sample(response.content, response.headers.get("content-type", ""))


# --- the conformance base class -----------------------------------------------------------

_NO_TICKETS = "the institution answers at once (no mock_pending hook)"


class _KitSubject:
    """What both halves of the kit test: the adapter, its institution, and whose assets.

    ``AdapterConformance`` and ``ControlConformance`` share
    these settings, so one test class can inherit both and set them once.
    """

    #: the adapter under test
    adapter_class: ClassVar[type[Adapter]]
    #: the institution the adapter is built with (its ``options`` as configured)
    institution: ClassVar[Institution] = Institution(
        id="conformance", name="conformance test institution"
    )
    #: where the client points; the hooks' routes are relative to it
    base_url: ClassVar[str] = "https://institution.test"
    #: whose assets are sought; default: a sample person, or organization if persons
    #: are not served
    party: ClassVar[Party | None] = None
    #: the case inquired under; default: ``sample_case``
    case: ClassVar[Case | None] = None

    # --- building blocks shared by the checks ------------------------------------------

    def _adapter_class(self) -> type[Adapter]:
        """The adapter class under test, or a TypeError saying to set it."""
        adapter_class = getattr(type(self), "adapter_class", None)
        if not isinstance(adapter_class, type):
            raise TypeError(f"{type(self).__name__} must set adapter_class to the adapter class")
        return adapter_class

    def _adapter(self) -> Adapter:
        return self._adapter_class()(self.institution)

    def _party(self) -> Party:
        """The party inquired about: ``party``, or a sample one the adapter serves."""
        if self.party is not None:
            return self.party
        if PartyKind.PERSON in self._adapter_class().party_kinds:
            return sample_person()
        return sample_organization()

    def _mock(self) -> MockRouter:
        """A router for one check; every route registered on it must be requested."""
        return mock_institution(self.base_url, assert_all_called=True)


class AdapterConformance(_KitSubject):
    """Base class of an adapter's conformance tests; subclass it as ``Test…``.

    Set ``adapter_class``, usually ``base_url`` and ``institution``, and
    implement ``mock_found`` and ``mock_not_found``. For an institution that hands
    out tickets, also implement ``mock_pending`` and ``mock_poll_found``.

    Hooks register respx routes (relative to ``base_url``) that answer as the real
    institution does: use its real, anonymised wire samples, with the encoding and content
    type it really sends. Every route a hook registers must be requested.

    The error checks are parametrized through ``pytest_generate_tests``; a subclass that
    defines its own must call ``super().pytest_generate_tests(metafunc)``.
    """

    #: also require an ``assetquery.adapters`` entry point under the adapter's name
    check_entry_point: ClassVar[bool] = True
    #: more bodies that must be refused (name → bytes), e.g. answers missing a required field
    extra_malformed_bodies: ClassVar[Mapping[str, bytes]] = {}
    #: the request id used for every inquiry
    request_id: ClassVar[str] = "conformance-request-0001"

    # --- hooks ----------------------------------------------------------------------------

    def mock_found(self, router: MockRouter, party: Party) -> None:
        """Register the institution's answer listing assets of ``party``.

        For an institution that always hands out a ticket, register the poll's answer too:
        the kit polls while the answer is pending.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement mock_found(router, party)")

    def mock_not_found(self, router: MockRouter, party: Party) -> None:
        """Register the institution's answer saying ``party`` holds nothing there."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement mock_not_found(router, party)"
        )

    def mock_pending(self, router: MockRouter, party: Party) -> str | None:
        """Register an answer handing out a ticket, and return that ticket.

        The default returns ``None``: the institution answers at once, and the ticket
        checks are skipped.
        """
        return None

    def mock_poll_found(self, router: MockRouter, party: Party, ticket: str) -> None:
        """Register the answer to polling ``ticket``: the assets of ``party``."""
        raise NotImplementedError(
            f"{type(self).__name__}.mock_pending returns a ticket, so it must implement "
            "mock_poll_found(router, party, ticket)"
        )

    # --- parametrization ------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Give the error checks their cases (pytest calls this for each test method)."""
        parent = getattr(super(), "pytest_generate_tests", None)
        if parent is not None:  # another half of the kit, mixed in after this one
            parent(metafunc)
        clashes = set(self.extra_malformed_bodies) & set(_MALFORMED_BODIES)
        if clashes:
            raise ValueError(
                f"extra_malformed_bodies reuses built-in case names: {sorted(clashes)}"
            )
        cases: dict[str, list[Any]] = {
            "http_status": list(_HTTP_STATUSES),
            "transport_failure": list(_TRANSPORT_FAILURES),
            "malformed_body": [*_MALFORMED_BODIES, *self.extra_malformed_bodies],
        }
        for argument, values in cases.items():
            if argument not in metafunc.fixturenames:
                continue
            if metafunc.function.__name__.endswith("_on_poll") and not self._hands_out_tickets():
                # One skipped test instead of one per case: nothing here to try them on.
                import pytest

                skip = pytest.mark.skip(reason=_NO_TICKETS)
                metafunc.parametrize(argument, [pytest.param(None, marks=skip, id="no_tickets")])
            else:
                metafunc.parametrize(argument, values, ids=[str(v) for v in values])

    # --- building blocks ------------------------------------------------------------------

    def _hands_out_tickets(self) -> bool:
        """Whether the subclass implements ``mock_pending``."""
        return type(self).mock_pending is not AdapterConformance.mock_pending

    def _request(self) -> InquiryRequest:
        """The inquiry every check makes."""
        return InquiryRequest(
            party=self._party(), case=self.case or sample_case(), request_id=self.request_id
        )

    def _found_answer(self) -> tuple[InquiryAnswer, _Sample]:
        """The answer to the found scenario, and the institution's first answer in it."""
        adapter, request = self._adapter(), self._request()
        with self._mock() as router:
            self.mock_found(router, request.party)
            outcome = _attempt(lambda: _settle(adapter, request, router, self.base_url))
            answer = _expect_answer(outcome, "mock_found")
            _assert_routes_used(router, "mock_found")
            sample = _answer_sample(router, 0)
        return answer, sample

    def _ticket(self) -> str:
        """The ticket ``mock_pending`` hands out; skips the test when there is none."""
        if not self._hands_out_tickets():
            _skip(_NO_TICKETS)
        adapter, request = self._adapter(), self._request()
        with self._mock() as router:
            ticket = self.mock_pending(router, request.party)
            if ticket is None:
                _skip(_NO_TICKETS)
            outcome = _attempt(
                lambda: run_inquiry(adapter, request, router, base_url=self.base_url)
            )
            answer = _expect_answer(outcome, "mock_pending")
            _assert_routes_used(router, "mock_pending")
        assert answer.status is ResultStatus.PENDING, (
            f"with a ticket handed out, the adapter answered {answer.status.value}, not pending"
        )
        assert answer.ticket == ticket, "the pending answer does not carry the ticket handed out"
        return ticket

    def _polled_answer(self, ticket: str) -> tuple[InquiryAnswer, _Sample]:
        """The answer to polling ``ticket``, and the institution's last answer to the poll."""
        adapter, request = self._adapter(), self._request()
        with self._mock() as router:
            self.mock_poll_found(router, request.party, ticket)
            outcome = _attempt(
                lambda: run_poll(adapter, ticket, request, router, base_url=self.base_url)
            )
            answer = _expect_answer(outcome, "mock_poll_found")
            _assert_routes_used(router, "mock_poll_found")
            sample = _answer_sample(router, -1)
        return answer, sample

    def _assert_found(self, answer: InquiryAnswer) -> None:
        """Assert ``answer`` is ok and every record in it normalized."""
        assert answer.status is ResultStatus.OK, (
            f"the institution listed assets, but the adapter answered {answer.status.value}"
        )
        assert answer.assets, "a found answer carries at least one AssetRecord"
        for i, record in enumerate(answer.assets):
            assert_normalized(
                record,
                self.institution.id,
                self._adapter_class().asset_kinds,
                adapter_name=self._adapter_class().name,
                label=f"assets[{i}]",
            )

    def _answered_with(
        self, response: Callable[[MockRouter], None], ticket: str | None, situation: str
    ) -> _Outcome:
        """Answer every request under the base URL as ``response`` says; inquire or poll."""
        adapter, request = self._adapter(), self._request()
        with self._mock() as router:
            response(router)
            if ticket is None:
                outcome = _attempt(
                    lambda: run_inquiry(adapter, request, router, base_url=self.base_url)
                )
            else:
                outcome = _attempt(
                    lambda: run_poll(adapter, ticket, request, router, base_url=self.base_url)
                )
            # Judged inside the block: leaving it with an unused route fails on its own.
            if isinstance(outcome, Exception) and _is_unmocked(outcome):
                _fail(f"{situation}: the adapter sent a request outside the base URL", outcome)
            if not router.calls:
                _fail(f"{situation}: the adapter gave up without sending a request")
        return outcome

    def _check_http_status(self, status: int, ticket: str | None) -> None:
        """Answer every request with HTTP ``status``; judge the error."""
        expected = _HTTP_STATUSES[status]
        headers = {"content-type": "text/html"}
        if status == 429:
            headers["retry-after"] = str(_RETRY_AFTER)
        step = "poll" if ticket else "inquiry"
        situation = f"{step} answered HTTP {status}"

        def respond(router: MockRouter) -> None:
            router.route().respond(status, headers=headers, content=_ERROR_PAGE)

        outcome = self._answered_with(respond, ticket, situation)
        error = _expect_error(outcome, expected, situation, self._party())
        if status == 429:
            assert isinstance(error, RetryableAdapterError)
            assert error.retry_after == _RETRY_AFTER, (
                f"{situation} with Retry-After: {_RETRY_AFTER}, but the error's retry_after is "
                f"{error.retry_after!r}"
            )

    def _check_transport_failure(self, name: str, ticket: str | None) -> None:
        """Fail every request with the transport error ``name``; judge the error."""
        failure, expected = _TRANSPORT_FAILURES[name]
        situation = f"{'poll' if ticket else 'inquiry'} failed with httpx.{failure.__name__}"

        def respond(router: MockRouter) -> None:
            router.route().mock(side_effect=failure)

        outcome = self._answered_with(respond, ticket, situation)
        _expect_error(outcome, expected, situation, self._party())

    def _check_malformed_body(self, name: str, sample: _Sample, ticket: str | None) -> None:
        """Answer every request with the malformed body ``name``; judge the error."""
        body = self.extra_malformed_bodies.get(name, _MALFORMED_BODIES.get(name))
        if body is None:
            body = sample.body[: len(sample.body) // 2]
        content_type = sample.content_type
        situation = f"{'poll' if ticket else 'inquiry'} answered HTTP 200 with a {name} body"
        headers = {"content-type": content_type} if content_type else {}
        if name == _BAD_ENCODING:
            headers["content-encoding"] = "gzip"

        def respond(router: MockRouter) -> None:
            # a stream, so the body is decoded where the adapter reads it, not here
            router.route().mock(
                side_effect=lambda request: httpx.Response(
                    200, headers=headers, stream=httpx.ByteStream(body)
                )
            )

        outcome = self._answered_with(respond, ticket, situation)
        _expect_error(outcome, _FAILED, situation, self._party())

    # --- declarations ---------------------------------------------------------------------

    def test_is_a_concrete_adapter(self) -> None:
        """An Adapter subclass with nothing abstract left, built from an Institution."""
        adapter_class = getattr(type(self), "adapter_class", None)
        assert isinstance(adapter_class, type), "set adapter_class to the adapter's class"
        assert issubclass(adapter_class, Adapter), (
            f"{adapter_class.__name__} is not a subclass of assetquery.adapters.Adapter"
        )
        assert not inspect.isabstract(adapter_class), (
            f"{adapter_class.__name__} leaves abstract methods unimplemented"
        )
        adapter = self._adapter()
        assert adapter.institution is self.institution, (
            "the adapter must keep the Institution it is built with as .institution"
        )

    def test_declares_a_name(self) -> None:
        """``name`` is set: the ``adapter =`` value in configuration."""
        name = getattr(self._adapter_class(), "name", None)
        assert isinstance(name, str), f"{self._adapter_class().__name__} must set name = '...'"
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", name), (
            f"adapter name {name!r} must be lower-case letters, digits, _ or -: it is the "
            "adapter = value in configuration"
        )

    def test_declares_capabilities(self) -> None:
        """``capabilities`` is a frozenset of Operation that includes inquiry."""
        capabilities = self._adapter_class().capabilities
        assert isinstance(capabilities, frozenset), "capabilities must be a frozenset"
        assert all(isinstance(c, Operation) for c in capabilities), (
            "capabilities must hold assetquery.adapters.Operation members"
        )
        assert Operation.INQUIRY in capabilities, "every adapter offers Operation.INQUIRY"

    def test_declares_asset_kinds(self) -> None:
        """``asset_kinds`` names, in snake_case, every kind the adapter reports."""
        kinds = self._adapter_class().asset_kinds
        assert isinstance(kinds, frozenset), "asset_kinds must be a frozenset"
        assert kinds, "asset_kinds must name the kinds of asset the adapter reports"
        for kind in kinds:
            assert isinstance(kind, str), f"asset kind {kind!r} is not a string"
            assert _KIND.fullmatch(kind), f"asset kind {kind!r} must be snake_case: bank_account"

    def test_serves_the_party(self) -> None:
        """``party_kinds`` is declared and the adapter serves the test party."""
        party_kinds = self._adapter_class().party_kinds
        assert isinstance(party_kinds, frozenset), "party_kinds must be a frozenset"
        assert party_kinds, "party_kinds must name the kinds of party the institution serves"
        assert all(isinstance(k, PartyKind) for k in party_kinds), (
            "party_kinds must hold PartyKind members"
        )
        party = self._party()
        assert self._adapter().serves(party), (
            f"the adapter does not serve the test party (a {party.kind.value}); set party"
        )

    def test_registered_as_entry_point(self) -> None:
        """The ``assetquery.adapters`` entry point under ``name`` loads the class."""
        if not self.check_entry_point:
            _skip("check_entry_point is false")
        name = self._adapter_class().name
        found = {ep.value: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name}
        assert found, (
            f"no {name!r} entry point in the group {ENTRY_POINT_GROUP!r}: declare it under "
            f'[project.entry-points."{ENTRY_POINT_GROUP}"] in pyproject.toml and reinstall '
            "the package (pip install -e .)"
        )
        assert len(found) == 1, (
            f"several installed packages register {name!r} ({sorted(found)}); "
            "uninstall the stale one"
        )
        (entry_point,) = found.values()
        assert entry_point.load() is self._adapter_class(), (
            f"the {name!r} entry point ({entry_point.value}) does not load the tested class"
        )
        assert load_adapter(name) is self._adapter_class(), (
            f"load_adapter({name!r}) does not find the tested class"
        )

    # --- answers --------------------------------------------------------------------------

    def test_found_answer_is_normalized(self) -> None:
        """The found answer is ok, with at least one record, every one normalized."""
        answer, _ = self._found_answer()
        self._assert_found(answer)

    def test_not_found_answer_is_empty(self) -> None:
        """The not-found answer is not_found, with no assets."""
        adapter, request = self._adapter(), self._request()
        with self._mock() as router:
            self.mock_not_found(router, request.party)
            outcome = _attempt(lambda: _settle(adapter, request, router, self.base_url))
            answer = _expect_answer(outcome, "mock_not_found")
            _assert_routes_used(router, "mock_not_found")
        assert answer.status is ResultStatus.NOT_FOUND, (
            f"the institution holds nothing, but the adapter answered {answer.status.value}"
        )
        assert answer.assets == (), "a not_found answer carries no assets"

    def test_pending_answer_carries_ticket(self) -> None:
        """A ticket handed out makes a pending answer carrying that ticket."""
        self._ticket()

    def test_poll_answer_is_normalized(self) -> None:
        """Polling the ticket gives an ok answer with normalized records."""
        answer, _ = self._polled_answer(self._ticket())
        self._assert_found(answer)

    # --- error mapping, inquiry -----------------------------------------------------------

    def test_http_error_on_inquiry(self, http_status: int) -> None:
        """An HTTP error status on the inquiry raises the typed error it stands for."""
        self._check_http_status(http_status, ticket=None)

    def test_transport_failure_on_inquiry(self, transport_failure: str) -> None:
        """A failed connection or a timeout on the inquiry raises a retryable error."""
        self._check_transport_failure(transport_failure, ticket=None)

    def test_malformed_body_on_inquiry(self, malformed_body: str) -> None:
        """An unreadable or wrongly shaped inquiry answer raises a non-retryable error."""
        _, sample = self._found_answer()
        self._check_malformed_body(malformed_body, sample, ticket=None)

    # --- error mapping, poll --------------------------------------------------------------

    def test_http_error_on_poll(self, http_status: int) -> None:
        """An HTTP error status on the poll raises the typed error it stands for."""
        self._check_http_status(http_status, ticket=self._ticket())

    def test_transport_failure_on_poll(self, transport_failure: str) -> None:
        """A failed connection or a timeout on the poll raises a retryable error."""
        self._check_transport_failure(transport_failure, ticket=self._ticket())

    def test_malformed_body_on_poll(self, malformed_body: str) -> None:
        """An unreadable or wrongly shaped poll answer raises a non-retryable error."""
        ticket = self._ticket()
        _, sample = self._polled_answer(ticket)
        self._check_malformed_body(malformed_body, sample, ticket=ticket)
