"""The conformance kit itself: it passes a correct adapter and fails each kind of broken one.

A toy institution answers JSON: ``POST /q`` gives ``{"at": ..., "items": [...]}`` at once, or
HTTP 202 ``{"ticket": ...}`` to be fetched with ``GET /q/{ticket}``. ``ToyAdapter`` reads it
correctly; each broken variant below breaks one rule, and the kit must say so.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import httpx
import pytest
import respx

from assetquery._errors import (
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
)
from assetquery._models import AssetRecord, Owner, Party, PartyKind, Provenance, ResultStatus
from assetquery._money import Money
from assetquery.adapters import (
    Adapter,
    InquiryAnswer,
    InquiryRequest,
    JsonFields,
    Operation,
    check_status,
    json_body,
)
from assetquery.testing import (
    AdapterConformance,
    assert_normalized,
    mock_institution,
    run_inquiry,
    run_poll,
    sample_case,
    sample_organization,
    sample_person,
)
from assetquery.testing._inquiry import _HTTP_STATUSES, _MALFORMED_BODIES, _TRANSPORT_FAILURES

BASE_URL = "https://toy.test"
AT = "2024-05-06T10:15:30+08:00"
FOUND = {"at": AT, "items": [{"id": "T-0001", "owner": "张三", "amount": "1234.50"}]}
NOTHING = {"at": AT, "items": []}
TICKET = "ticket-42"


# --- a correct adapter ----------------------------------------------------------------------


class ToyAdapter(Adapter):
    name = "toy"
    asset_kinds = frozenset({"toy_account"})

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        response = await self.send(client, "POST", "/q", json={"id": request.party.id_number})
        return self.read(response, request)

    async def poll(
        self, client: httpx.AsyncClient, ticket: str, request: InquiryRequest
    ) -> InquiryAnswer:
        return self.read(await self.send(client, "GET", f"/q/{ticket}"), request)

    def read(self, response: httpx.Response, request: InquiryRequest) -> InquiryAnswer:
        body = JsonFields(json_body(response, self.institution.name))
        if "ticket" in body:
            return InquiryAnswer.pending(body.text("ticket"))
        provenance = Provenance(
            institution=self.institution.id, adapter=self.name, received_at=body.timestamp("at")
        )
        return InquiryAnswer.found(
            tuple(self.record(item, provenance) for item in body.items("items"))
        )

    def record(self, item: JsonFields, provenance: Provenance) -> AssetRecord:
        return AssetRecord(
            kind="toy_account",
            institution=self.institution.id,
            identifier=item.text("id"),
            identifier_type="toy_id",
            owner=Owner(name=item.text("owner")),
            value=item.money("amount"),
            as_of=provenance.received_at,
            provenance=provenance,
        )


class ToyConformance(AdapterConformance):
    """Not collected (no ``Test`` prefix): the tests below call its checks one by one."""

    adapter_class: ClassVar[type[Adapter]] = ToyAdapter
    base_url = BASE_URL
    check_entry_point = False

    def mock_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post("/q").respond(200, json=FOUND)

    def mock_not_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post("/q").respond(200, json=NOTHING)

    def mock_pending(self, router: respx.MockRouter, party: Party) -> str:
        router.post("/q").respond(202, json={"ticket": TICKET})
        return TICKET

    def mock_poll_found(self, router: respx.MockRouter, party: Party, ticket: str) -> None:
        router.get(f"/q/{ticket}").respond(200, json=FOUND)


def kit_for(adapter: type[Adapter], **settings: Any) -> AdapterConformance:
    """The toy's conformance checks, aimed at ``adapter``."""
    kit_class = type("Kit", (ToyConformance,), {"adapter_class": adapter, **settings})
    kit: AdapterConformance = kit_class()
    return kit


def every_check(kit: AdapterConformance) -> dict[str, Callable[[], None]]:
    """Every check the kit makes, by pytest id, as pytest would parametrize them."""
    cases: dict[str, list[Any]] = {
        "http_status": list(_HTTP_STATUSES),
        "transport_failure": list(_TRANSPORT_FAILURES),
        "malformed_body": [*_MALFORMED_BODIES, *kit.extra_malformed_bodies],
    }
    checks: dict[str, Callable[[], None]] = {}
    for name, method in inspect.getmembers(kit, inspect.ismethod):
        if not name.startswith("test_"):
            continue
        parameters = list(inspect.signature(method).parameters)
        if not parameters:
            checks[name] = method
            continue
        for case in cases[parameters[0]]:
            checks[f"{name}[{case}]"] = functools.partial(method, case)
    return checks


def failures(kit: AdapterConformance) -> dict[str, str]:
    """The checks that fail, with their messages; skipped checks are left out."""
    failed = {}
    for check_id, check in every_check(kit).items():
        try:
            check()
        except AssertionError as exc:
            failed[check_id] = str(exc)
        except pytest.skip.Exception:
            continue
    return failed


# --- the kit passes a correct adapter ---------------------------------------------------------


def test_a_correct_adapter_passes_every_check() -> None:
    kit = kit_for(ToyAdapter)

    assert failures(kit) == {}
    # six declarations, four answers, and every error case on the inquiry and on the poll
    cases = len(_HTTP_STATUSES) + len(_TRANSPORT_FAILURES) + len(_MALFORMED_BODIES)
    assert len(every_check(kit)) == 6 + 4 + 2 * cases


def test_an_institution_that_always_hands_out_tickets_is_polled() -> None:
    class AlwaysTickets(ToyConformance):
        def mock_found(self, router: respx.MockRouter, party: Party) -> None:
            self.mock_pending(router, party)
            self.mock_poll_found(router, party, TICKET)

    kit = AlwaysTickets()

    kit.test_found_answer_is_normalized()
    kit.test_malformed_body_on_inquiry("truncated")  # cut from the ticket answer


def test_poll_checks_are_skipped_without_tickets() -> None:
    class AtOnce(ToyConformance):
        mock_pending = AdapterConformance.mock_pending  # type: ignore[assignment]

    with pytest.raises(pytest.skip.Exception, match="answers at once"):
        AtOnce().test_pending_answer_carries_ticket()


def test_entry_point_check_fails_for_an_unregistered_adapter() -> None:
    kit = kit_for(ToyAdapter, check_entry_point=True)

    with pytest.raises(AssertionError, match="no 'toy' entry point"):
        kit.test_registered_as_entry_point()


# --- the kit fails broken adapters ------------------------------------------------------------


class LeakyAdapter(ToyAdapter):
    """Reads the body by hand: wrong shapes surface as KeyError and friends."""

    def read(self, response: httpx.Response, request: InquiryRequest) -> InquiryAnswer:
        data = response.json()
        if "ticket" in data:
            return InquiryAnswer.pending(data["ticket"])
        provenance = Provenance(
            institution=self.institution.id,
            adapter=self.name,
            received_at=datetime.fromisoformat(data["at"]),
        )
        return InquiryAnswer.found(
            tuple(self.record(JsonFields(item), provenance) for item in data["items"])
        )


def test_leaked_key_error_on_a_wrong_shape_fails() -> None:
    kit = kit_for(LeakyAdapter)

    with pytest.raises(AssertionError, match="let KeyError escape") as caught:
        kit.test_malformed_body_on_inquiry("json_object")

    # the leak is chained, so the traceback shows where it happened
    assert isinstance(caught.value.__cause__, KeyError)


def test_every_leak_is_reported() -> None:
    failed = failures(kit_for(LeakyAdapter))

    # A body that cannot be decoded never reaches the parser: Adapter.send maps it already.
    malformed = {
        f"test_malformed_body_on_{step}[{case}]"
        for step in ("inquiry", "poll")
        for case in _MALFORMED_BODIES
        if case != "bad_content_encoding"
    }
    assert set(failed) == malformed
    assert "UnicodeDecodeError" in failed["test_malformed_body_on_inquiry[garbage]"]
    assert "JSONDecodeError" in failed["test_malformed_body_on_inquiry[html_page]"]
    assert "TypeError" in failed["test_malformed_body_on_inquiry[json_array]"]


class NoRetryAdapter(ToyAdapter):
    """Reports "busy" (429, 502, 503, 504) as a permanent failure: never retried."""

    async def send(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await super().send(client, method, url, **kwargs)
        except InstitutionUnavailable as exc:
            raise InstitutionFailure("the institution failed", code=exc.code) from None


def test_a_503_marked_non_retryable_fails() -> None:
    failed = failures(kit_for(NoRetryAdapter))

    busy = {
        f"test_http_error_on_{step}[{status}]"
        for step in ("inquiry", "poll")
        for status in (429, 502, 503, 504)
    }
    assert set(failed) == busy
    assert "non-retryable InstitutionFailure" in failed["test_http_error_on_inquiry[503]"]
    assert "expected a retryable RetryableAdapterError" in failed["test_http_error_on_inquiry[503]"]


class NoRetryAfterAdapter(ToyAdapter):
    """Says "busy" but drops the institution's Retry-After."""

    async def send(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await super().send(client, method, url, **kwargs)
        except InstitutionUnavailable as exc:
            raise InstitutionUnavailable(exc.message, code=exc.code) from None


def test_a_dropped_retry_after_fails() -> None:
    kit = kit_for(NoRetryAfterAdapter)

    with pytest.raises(AssertionError, match=r"Retry-After: 7.*retry_after is None"):
        kit.test_http_error_on_inquiry(429)
    kit.test_http_error_on_inquiry(503)  # no Retry-After was sent there


class RejectionAsFailureAdapter(ToyAdapter):
    """Treats the institution refusing credentials as its own failure."""

    async def send(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await super().send(client, method, url, **kwargs)
        except InstitutionRejected as exc:
            raise InstitutionFailure(exc.message, code=exc.code) from None


def test_a_refusal_reported_as_failure_fails() -> None:
    kit = kit_for(RejectionAsFailureAdapter)

    with pytest.raises(AssertionError, match="expected a non-retryable InstitutionRejected"):
        kit.test_http_error_on_inquiry(401)


class RawClientAdapter(ToyAdapter):
    """Bypasses Adapter.send: transport errors escape as httpx exceptions."""

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        response = await client.post("/q", json={"id": request.party.id_number})
        check_status(response, self.institution.name)
        return self.read(response, request)


@pytest.mark.parametrize(
    ("failure", "leaked"), [("connect_error", "ConnectError"), ("read_timeout", "ReadTimeout")]
)
def test_an_escaping_transport_error_fails(failure: str, leaked: str) -> None:
    kit = kit_for(RawClientAdapter)

    with pytest.raises(AssertionError, match=f"let {leaked} escape"):
        kit.test_transport_failure_on_inquiry(failure)


class SwallowingAdapter(ToyAdapter):
    """Turns every trouble into "nothing found": the worst lie an adapter can tell."""

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        try:
            return await super().inquire(client, request)
        except Exception:
            return InquiryAnswer.not_found()


def test_an_answer_to_garbage_fails() -> None:
    kit = kit_for(SwallowingAdapter)

    with pytest.raises(AssertionError, match="answered not_found; expected a non-retryable"):
        kit.test_malformed_body_on_inquiry("truncated")
    with pytest.raises(AssertionError, match="answered not_found"):
        kit.test_http_error_on_inquiry(503)


class ChattyAdapter(ToyAdapter):
    """Puts the party's ID number into its error message."""

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        try:
            return await super().inquire(client, request)
        except MalformedResponse as exc:
            raise MalformedResponse(
                f"bad answer for {request.party.id_number}", code=exc.code
            ) from None


def test_personal_data_in_an_error_message_fails() -> None:
    kit = kit_for(ChattyAdapter)

    with pytest.raises(AssertionError, match="contains the party's ID number") as caught:
        kit.test_malformed_body_on_inquiry("empty")

    assert sample_person().id_number not in str(caught.value)


class ElsewhereAdapter(ToyAdapter):
    """Ignores the client's base URL."""

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        response = await self.send(client, "POST", "https://elsewhere.test/q")
        return self.read(response, request)


def test_a_request_outside_the_base_url_fails() -> None:
    kit = kit_for(ElsewhereAdapter)

    with pytest.raises(AssertionError, match="outside the base URL"):
        kit.test_http_error_on_inquiry(503)
    with pytest.raises(AssertionError, match="did not route"):
        kit.test_found_answer_is_normalized()


class ImpatientAdapter(ToyAdapter):
    """Gives up before asking."""

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        raise InstitutionUnavailable("not today")


def test_an_adapter_that_never_asks_fails() -> None:
    kit = kit_for(ImpatientAdapter)

    with pytest.raises(AssertionError, match="without sending a request"):
        kit.test_http_error_on_inquiry(503)
    with pytest.raises(AssertionError, match="adapter raised InstitutionUnavailable"):
        kit.test_found_answer_is_normalized()


class NaiveRecordAdapter(ToyAdapter):
    """Builds records with model_construct, skipping validation: naive time, float amount."""

    def record(self, item: JsonFields, provenance: Provenance) -> AssetRecord:
        return AssetRecord.model_construct(
            kind="toy_account",
            institution="somewhere-else",
            identifier=item.text("id"),
            identifier_type="toy_id",
            owner=Owner(name=item.text("owner")),
            value=Money.model_construct(amount=1234.5, currency="CNY"),  # type: ignore[arg-type]
            available=None,
            share=None,
            co_owners=(),
            encumbrances=(),
            status=ResultStatus.OK,  # type: ignore[arg-type]
            as_of=datetime(2024, 5, 6, 10, 15, 30),
            details={},
            provenance=provenance,
        )


def test_an_unnormalized_record_fails_with_every_problem_listed() -> None:
    kit = kit_for(NaiveRecordAdapter)

    with pytest.raises(AssertionError) as caught:
        kit.test_found_answer_is_normalized()

    message = str(caught.value)
    assert "assets[0] (toy_account) is not normalized" in message
    assert "institution is 'somewhere-else', not the institution id 'conformance'" in message
    assert "value.amount is a float, not Decimal" in message
    assert "status is not an AssetStatus" in message
    assert "as_of is not a timezone-aware datetime" in message
    assert "T-0001" not in message  # fields are named, values are not


class ForgetfulTicketAdapter(ToyAdapter):
    """Hands back a ticket of its own instead of the institution's."""

    def read(self, response: httpx.Response, request: InquiryRequest) -> InquiryAnswer:
        answer = super().read(response, request)
        if answer.status is ResultStatus.PENDING:
            return InquiryAnswer.pending("my-own-ticket")
        return answer


def test_a_lost_ticket_fails() -> None:
    kit = kit_for(ForgetfulTicketAdapter)

    with pytest.raises(AssertionError, match="does not carry the ticket"):
        kit.test_pending_answer_carries_ticket()


class BlindAdapter(ToyAdapter):
    """Never finds anything."""

    def read(self, response: httpx.Response, request: InquiryRequest) -> InquiryAnswer:
        super().read(response, request)
        return InquiryAnswer.not_found()


def test_a_found_answer_reported_as_not_found_fails() -> None:
    kit = kit_for(BlindAdapter)

    with pytest.raises(AssertionError, match="listed assets, but the adapter answered not_found"):
        kit.test_found_answer_is_normalized()


def test_a_route_the_adapter_never_requests_fails() -> None:
    class Overeager(ToyConformance):
        def mock_found(self, router: respx.MockRouter, party: Party) -> None:
            super().mock_found(router, party)
            router.get("/status").respond(200, json={})

    with pytest.raises(AssertionError, match="never requested"):
        Overeager().test_found_answer_is_normalized()


# --- declarations ---------------------------------------------------------------------------


class NamelessAdapter(ToyAdapter):
    name = "Toy Adapter"


class NoInquiryAdapter(ToyAdapter):
    capabilities = frozenset({Operation.FREEZE})


class NoKindsAdapter(ToyAdapter):
    asset_kinds = frozenset({"Toy Account"})


class CompaniesOnlyAdapter(ToyAdapter):
    party_kinds = frozenset({PartyKind.ORGANIZATION})


class UnfinishedAdapter(Adapter):
    name = "unfinished"
    asset_kinds = frozenset({"toy_account"})


@pytest.mark.parametrize(
    ("adapter", "check", "message"),
    [
        (NamelessAdapter, "test_declares_a_name", "must be lower-case"),
        (NoInquiryAdapter, "test_declares_capabilities", "Operation.INQUIRY"),
        (NoKindsAdapter, "test_declares_asset_kinds", "snake_case"),
        (UnfinishedAdapter, "test_is_a_concrete_adapter", "abstract methods"),
        (httpx.Client, "test_is_a_concrete_adapter", "not a subclass"),
    ],
)
def test_a_broken_declaration_fails(adapter: type[Any], check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(kit_for(adapter), check)()


def test_the_default_party_is_one_the_adapter_serves() -> None:
    kit = kit_for(CompaniesOnlyAdapter)

    kit.test_serves_the_party()  # an organization is picked


def test_a_party_the_adapter_does_not_serve_fails() -> None:
    kit = kit_for(CompaniesOnlyAdapter, party=sample_person())

    with pytest.raises(AssertionError, match="does not serve the test party"):
        kit.test_serves_the_party()


def test_a_missing_hook_says_what_to_implement() -> None:
    class Hookless(AdapterConformance):
        adapter_class = ToyAdapter

    with pytest.raises(NotImplementedError, match=r"must implement mock_found\(router, party\)"):
        Hookless().test_found_answer_is_normalized()


def test_clashing_extra_body_names_are_refused() -> None:
    kit = kit_for(ToyAdapter, extra_malformed_bodies={"empty": b"{}"})

    with pytest.raises(ValueError, match="reuses built-in case names"):
        kit.pytest_generate_tests(metafunc=None)  # type: ignore[arg-type]


def test_extra_malformed_bodies_are_checked() -> None:
    kit = kit_for(
        ToyAdapter,
        extra_malformed_bodies={
            "amount_as_number": b'{"at": "'
            + AT.encode()
            + b'", "items": [{"id": "1", "owner": "x", "amount": 1}]}'
        },
    )

    kit.test_malformed_body_on_inquiry("amount_as_number")
    with pytest.raises(AssertionError, match="let KeyError escape"):
        kit_for(
            LeakyAdapter, extra_malformed_bodies={"no_at": b'{"items": []}'}
        ).test_malformed_body_on_inquiry("no_at")


# --- helpers --------------------------------------------------------------------------------


def record(**changes: Any) -> AssetRecord:
    fields: dict[str, Any] = {
        "kind": "toy_account",
        "institution": "toy-1",
        "identifier": "T-0001",
        "identifier_type": "toy_id",
        "owner": Owner(name="张三"),
        "value": Money("10.00"),
        "as_of": datetime(2024, 5, 6, tzinfo=UTC),
        "provenance": Provenance(
            institution="toy-1", adapter="toy", received_at=datetime(2024, 5, 6, tzinfo=UTC)
        ),
    }
    fields.update(changes)
    return AssetRecord(**fields)


def test_assert_normalized_accepts_a_normalized_record() -> None:
    assert_normalized(record(), "toy-1", {"toy_account"}, adapter_name="toy")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"kind": "vehicle"}, "kind 'vehicle' is not among the adapter's asset_kinds"),
        ({"identifier": "  "}, "identifier is empty"),
        ({"available": Money("5.00", "USD")}, "value and available are in different currencies"),
        ({"as_of": datetime(2024, 5, 6)}, "as_of is not a timezone-aware datetime"),
        ({"value": Money.model_construct(amount=10, currency="CNY")}, "value.amount is a int"),  # type: ignore[arg-type]
        ({"value": Decimal("10.00")}, "value is a Decimal, not Money"),
        ({"share": Fraction(3, 2)}, "share is not a Fraction in (0, 1]"),
        ({"provenance": None}, "provenance is missing"),
        ({"details": {"area": 96.5}}, "details is not a mapping of text to text"),
    ],
)
def test_assert_normalized_names_the_problem(changes: dict[str, Any], problem: str) -> None:
    # model_copy skips validation, as model_construct does in a careless adapter
    broken = record().model_copy(update=changes)

    with pytest.raises(AssertionError) as caught:
        assert_normalized(broken, "toy-1", {"toy_account"}, label="the record")

    assert problem in str(caught.value)
    assert str(caught.value).startswith("the record (")


def test_assert_normalized_checks_the_adapter_name() -> None:
    with pytest.raises(AssertionError, match=r"provenance\.adapter is 'toy', not 'bank'"):
        assert_normalized(record(), "toy-1", {"toy_account"}, adapter_name="bank")


def test_assert_normalized_refuses_other_objects() -> None:
    with pytest.raises(AssertionError, match="is a dict, not an AssetRecord"):
        assert_normalized({}, "toy-1", {"toy_account"})


def test_run_inquiry_and_run_poll_answer_from_the_router() -> None:
    adapter = ToyAdapter(ToyConformance.institution)
    request = InquiryRequest(party=sample_person(), case=sample_case(), request_id="r-1")

    with mock_institution(BASE_URL) as router:
        router.post("/q").respond(202, json={"ticket": TICKET})
        router.get(f"/q/{TICKET}").respond(200, json=FOUND)
        pending = run_inquiry(adapter, request, router)
        found = run_poll(adapter, TICKET, request, router)

    assert pending.ticket == TICKET
    assert found.assets[0].value == Money("1234.50")


def test_a_router_built_elsewhere_needs_the_base_url() -> None:
    adapter = ToyAdapter(ToyConformance.institution)
    request = InquiryRequest(party=sample_person(), case=sample_case(), request_id="r-1")

    with respx.mock(base_url=BASE_URL) as router:
        router.post("/q").respond(200, json=FOUND)
        with pytest.raises(TypeError, match="pass base_url"):
            run_inquiry(adapter, request, router)
        answer = run_inquiry(adapter, request, router, base_url=BASE_URL)

    assert answer.status is ResultStatus.OK


def test_run_inquiry_never_reaches_the_network() -> None:
    adapter = ToyAdapter(ToyConformance.institution)
    request = InquiryRequest(party=sample_person(), case=sample_case(), request_id="r-1")

    with mock_institution(BASE_URL) as router, pytest.raises(AssertionError, match="not mocked"):
        run_inquiry(adapter, request, router)


def test_mock_institution_enforces_that_every_route_is_called() -> None:
    with pytest.raises(AssertionError, match="not called"), mock_institution(BASE_URL) as router:
        router.post("/q").respond(200, json=NOTHING)


def test_samples_are_valid_and_distinct() -> None:
    person, organization, case = sample_person(), sample_organization(), sample_case()

    assert Party.model_validate(person.model_dump()) == person
    assert Party.model_validate(organization.model_dump()) == organization
    assert person.kind is PartyKind.PERSON
    assert organization.kind is PartyKind.ORGANIZATION
    assert case.parsed_number.is_enforcement
    assert case.operator


# --- building reports for tests ----------------------------------------------------------------


async def test_build_report_assembles_as_a_lookup_does() -> None:
    from assetquery import Case, Dispatcher
    from assetquery import Party as PublicParty
    from assetquery.sandbox import dataset
    from assetquery.testing import build_report

    p = dataset().find("both_banks")[0]
    party = PublicParty.parse(p.name, p.id_number, p.kind)
    case = Case(number=p.case_number, court=p.court, operator="李承办", claim=p.claim)
    async with Dispatcher.sandbox() as dispatcher:
        looked_up = await dispatcher.lookup(party, case)

    rebuilt = build_report(party, case, looked_up.results, at=looked_up.started_at)

    assert rebuilt.assets == looked_up.assets
    assert rebuilt.totals == looked_up.totals
    assert rebuilt.coverage == looked_up.coverage
    assert rebuilt.complete is looked_up.complete


def test_build_report_from_assets_alone() -> None:
    from assetquery.testing import build_report

    at = datetime(2024, 5, 6, 2, tzinfo=UTC)
    provenance = Provenance(institution="test", adapter="test", received_at=at)
    record = AssetRecord(
        kind="bank_account",
        institution="test",
        identifier="6217000012345678901",
        identifier_type="account_number",
        owner=Owner(name="张三"),
        value=Money("100000.00"),
        available=Money("100000.00"),
        as_of=at,
        provenance=provenance,
    )
    report = build_report(sample_person(), sample_case(), assets=[record, record], at=at)
    assert report.assets == (record,)  # the same asset reported twice is one asset
    assert report.coverage is not None
    assert report.complete
    empty = build_report(sample_person(), sample_case(), at=at)
    assert empty.assets == () and empty.results[0].status is ResultStatus.NOT_FOUND
    with pytest.raises(ValueError, match="timezone-aware"):
        build_report(sample_person(), sample_case(), at=datetime(2024, 5, 6))
