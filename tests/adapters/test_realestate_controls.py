"""The registry adapter's seals, renewals and releases: XML requests, GBK answers, YYYYMMDD."""

from __future__ import annotations

from datetime import date
from typing import Any

import defusedxml.ElementTree as SafeElementTree
import httpx
import pytest
import respx

from assetquery._errors import (
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
)
from assetquery._models import Case, Party
from assetquery.adapters import ControlRequest, ControlState, Institution, Operation
from assetquery.adapters._realestate import RealEstateRegistryAdapter
from assetquery.testing import ControlConformance

PATH = "/bdc/judicial/control"
STATUS_PATH = "/bdc/judicial/control/status"
INSTITUTION = Institution(id="bdc-lanzhou", name="兰州市不动产登记中心")
UNIT = "620102001001GB00001F00010203"
CONTENT_TYPE = "text/xml; charset=GBK"


@pytest.fixture
def adapter() -> RealEstateRegistryAdapter:
    return RealEstateRegistryAdapter(INSTITUTION)


@pytest.fixture
def document_case(case: Case) -> Case:
    return case.model_copy(update={"enforcement_document": "（2024）甘0191执1234号之二"})


def seal(party: Party, case: Case, **changes: Any) -> ControlRequest:
    fields: dict[str, Any] = {
        "operation": Operation.SEAL,
        "idempotency_key": "seal-0001",
        "party": party,
        "case": case,
        "asset_kind": "real_estate",
        "asset_identifier": UNIT,
    }
    fields.update(changes)
    return ControlRequest(**fields)


def answer(
    control: str = "",
    *,
    code: str = "0000",
    message: str = "办理成功",
    ywh: str = "seal-0001",
) -> bytes:
    """The registry's answer as it sends it: declared and encoded GBK."""
    text = f"""<?xml version="1.0" encoding="GBK"?>
<KzResponse><Head><Ywh>{ywh}</Ywh><Jgdm>{code}</Jgdm><Jgxx>{message}</Jgxx>
<Cxsj>20250310093000</Cxsj></Head>{control}</KzResponse>"""
    return text.encode("gbk")


def kz(state: str = "YX", **fields: str) -> str:
    values = {"Kzbh": "KZ-7", "Czlx": "CF", "Zt": state, "Qssj": "20250310",
              "Jssj": "20280309", "Sm": "查封登记已办结"}  # fmt: skip
    values.update(fields)
    return "<Kz>" + "".join(f"<{k}>{v}</{k}>" for k, v in values.items() if v) + "</Kz>"


def test_capabilities() -> None:
    assert RealEstateRegistryAdapter.capabilities == {
        Operation.INQUIRY,
        Operation.SEAL,
        Operation.RENEW,
        Operation.RELEASE,
        Operation.STATUS,
    }


async def test_seal_request_and_gbk_answer(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    route = router.post(PATH).respond(
        200,
        content=answer(kz(Sm="查封登记已办结（活查封）")),
        headers={"content-type": CONTENT_TYPE},
    )

    status = await adapter.submit(
        client, seal(party, document_case, live_seal=True, ends_on=date(2027, 12, 31))
    )

    sent = SafeElementTree.fromstring(route.calls.last.request.content)
    assert sent.tag == "KzRequest"
    assert {child.tag: child.text for child in sent if child.tag != "Qlr"} == {
        "Ywh": "seal-0001",
        "Czlx": "CF",
        "Ah": "（2024）甘0191执1234号",
        "Fy": "兰州新区人民法院",
        "Cbr": "执行员甲",
        "Wh": "（2024）甘0191执1234号之二",
        "Bdcdyh": UNIT,
        "Hcf": "1",
        "Jssj": "20271231",
    }
    assert [(c.tag, c.text) for c in sent.find("Qlr")] == [
        ("Mc", "张三"),
        ("Zjlx", "1"),
        ("Zjh", "110105199003071239"),
    ]
    assert status.state is ControlState.EFFECTIVE
    assert status.reference == "KZ-7"
    assert (status.effective_on, status.ends_on) == (date(2025, 3, 10), date(2028, 3, 9))
    assert status.amount is None
    assert status.message == "查封登记已办结（活查封）"


@pytest.mark.parametrize(
    ("operation", "wire"), [(Operation.RENEW, "XF"), (Operation.RELEASE, "JF")]
)
async def test_renew_and_release_name_their_target(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    operation: Operation,
    wire: str,
) -> None:
    route = router.post(PATH).respond(200, content=answer(kz(Kzbh="KZ-8", Czlx=wire)))

    status = await adapter.submit(
        client, seal(party, document_case, operation=operation, target="KZ-7")
    )

    sent = SafeElementTree.fromstring(route.calls.last.request.content)
    assert (sent.findtext("Czlx"), sent.findtext("Ykzbh"), sent.findtext("Hcf")) == (
        wire,
        "KZ-7",
        "0",
    )
    assert sent.find("Jssj") is None
    assert (status.state, status.reference) == (ControlState.EFFECTIVE, "KZ-8")


@pytest.mark.parametrize(
    ("wire", "state"),
    [
        ("SL", ControlState.RECEIVED),
        ("YX", ControlState.EFFECTIVE),
        ("LH", ControlState.WAITING),
        ("JC", ControlState.RELEASED),
        ("SX", ControlState.LAPSED),
        ("JJ", ControlState.REJECTED),
    ],
)
async def test_every_state_maps(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    wire: str,
    state: ControlState,
) -> None:
    route = router.post(STATUS_PATH).respond(200, content=answer(kz(wire)))

    status = await adapter.control_status(client, seal(party, document_case))

    assert status.state is state
    sent = SafeElementTree.fromstring(route.calls.last.request.content)
    assert (sent.tag, sent.findtext("Ywh")) == ("KzCx", "seal-0001")


async def test_waiting_seal(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(PATH).respond(200, content=answer(kz("LH", Qssj="", Jssj="", Lhsx="2")))

    status = await adapter.submit(client, seal(party, document_case))

    assert (status.state, status.waiting_position) == (ControlState.WAITING, 2)
    assert (status.effective_on, status.ends_on) == (None, None)


async def test_unknown_key(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(STATUS_PATH).respond(
        200, content=answer(code="0001", message="未找到该业务号的控制业务")
    )

    status = await adapter.control_status(client, seal(party, document_case))

    assert status.state is ControlState.UNKNOWN


async def test_business_refusal(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    refused = kz("JJ", Kzbh="", Qssj="", Jssj="", Sm="未找到该财产（账号或不动产单元号有误）")
    router.post(PATH).respond(200, content=answer(refused))

    status = await adapter.submit(client, seal(party, document_case))

    assert (status.state, status.reference) == (ControlState.REJECTED, None)
    assert status.message == "未找到该财产（账号或不动产单元号有误）"


@pytest.mark.parametrize("http_status", [200, 409])
async def test_a_reused_key_is_a_conflict(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    http_status: int,
) -> None:
    router.post(PATH).respond(
        http_status, content=answer(code="1009", message="业务号已用于其他请求")
    )

    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, seal(party, document_case))
    assert raised.value.code == "idempotency_conflict"


@pytest.mark.parametrize(
    ("code", "error", "tag"),
    [
        ("1001", InstitutionRejected, "registry_1001"),
        ("1002", InstitutionRejected, "registry_1002"),
        ("9001", InstitutionUnavailable, "registry_9001"),
        ("8888", InstitutionFailure, "registry_8888"),
    ],
)
async def test_result_codes(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    code: str,
    error: type[Exception],
    tag: str,
) -> None:
    router.post(PATH).respond(200, content=answer(code=code, message="出错了"))

    with pytest.raises(error) as raised:
        await adapter.submit(client, seal(party, document_case))
    assert getattr(raised.value, "code", None) == tag
    if error is InstitutionRejected:
        assert "refused the control request" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502",
        answer(kz("YX"))[:-20],
        answer(kz("ZZ")),
        answer(kz("YX", Kzbh="")),
        answer(kz("YX", Jssj="2028-03-09")),
        answer(kz("LH", Lhsx="first")),
        answer(),
        answer(kz("YX"), ywh="another-key"),
        '<?xml version="1.0" encoding="GBK"?><CxResponse/>'.encode("gbk"),
    ],
    ids=[
        "html",
        "truncated",
        "unknown state",
        "effective without id",
        "dashed date",
        "position word",
        "no Kz",
        "another key",
        "inquiry root",
    ],
)
async def test_malformed_answers(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    body: bytes,
) -> None:
    router.post(PATH).respond(200, content=body, headers={"content-type": CONTENT_TYPE})

    with pytest.raises(MalformedResponse) as raised:
        await adapter.submit(client, seal(party, document_case))
    assert party.id_number not in raised.value.message


async def test_control_path_is_an_option(
    router: respx.MockRouter, client: httpx.AsyncClient, party: Party, document_case: Case
) -> None:
    adapter = RealEstateRegistryAdapter(
        Institution(id="r", name="r", options={"control_path": "/bdc/v2/kz"})
    )
    router.post("/bdc/v2/kz").respond(200, content=answer(kz()))
    router.post("/bdc/v2/kz/status").respond(200, content=answer(kz()))

    assert (await adapter.submit(client, seal(party, document_case))).reference == "KZ-7"
    assert (await adapter.control_status(client, seal(party, document_case))).reference == "KZ-7"


@pytest.mark.parametrize("operation", [Operation.FREEZE, Operation.DEDUCT, Operation.INQUIRY])
async def test_what_a_registry_does_not_do_is_refused(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,  # nothing may be sent
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    operation: Operation,
) -> None:
    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, seal(party, document_case, operation=operation))
    assert raised.value.code == "unsupported_operation"


class TestRegistryControlConformance(ControlConformance):
    """The built-in registry adapter passes the kit adapter authors use."""

    adapter_class = RealEstateRegistryAdapter
    institution = INSTITUTION
    base_url = "https://bdc.test"
    asset_identifier = UNIT

    def _answer(self, request: ControlRequest, state: str) -> bytes:
        return answer(kz(state), ywh=request.idempotency_key)

    def mock_submit(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(
            200, content=self._answer(request, "SL"), content_type=CONTENT_TYPE
        )

    def mock_status(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(STATUS_PATH).respond(
            200, content=self._answer(request, "YX"), content_type=CONTENT_TYPE
        )

    def mock_status_unknown(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(STATUS_PATH).respond(
            200,
            content=answer(code="0001", message="未找到该业务号的控制业务", ywh=""),
            content_type=CONTENT_TYPE,
        )

    def mock_duplicate(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(
            200, content=self._answer(request, "YX"), content_type=CONTENT_TYPE
        )

    def mock_conflict(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(
            409,
            content=answer(code="1009", message="业务号已用于其他请求"),
            content_type=CONTENT_TYPE,
        )
