"""The real-estate registry adapter: XML, declared and encoded GBK, dates YYYYMMDD, shares 1/2."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from xml.etree import ElementTree

import httpx
import pytest
import respx

from assetquery._errors import (
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
)
from assetquery._models import Case, EncumbranceKind, Party, ResultStatus
from assetquery._money import Money
from assetquery.adapters import InquiryRequest, Institution
from assetquery.adapters._realestate import RealEstateRegistryAdapter
from assetquery.testing import AdapterConformance

PATH = "/bdc/judicial/query"
INSTITUTION = Institution(id="bdc-lanzhou", name="兰州市不动产登记中心")
PARTY_ID = "110105199003071239"  # the sample person's resident ID
CO_OWNER_ID = "620102198501010013"
# What registries send: GBK bytes, said so in the declaration and in the header.
CONTENT_TYPE = "text/xml; charset=GBK"

CO_OWNED = f"""
    <Bdcdy>
      <Bdcdyh>620102003001GB00012F00010023</Bdcdyh>
      <Bdcqzh>甘（2019）兰州市不动产权第0012345号</Bdcqzh>
      <Zl>兰州市城关区示例路88号3单元502室</Zl>
      <Mj>96.52</Mj>
      <Yt>住宅</Yt>
      <Djsj>20190510</Djsj>
      <Gyfs>按份共有</Gyfs>
      <Qlr><Mc>李四</Mc><Zjh>{CO_OWNER_ID}</Zjh><Fe>1/2</Fe></Qlr>
      <Qlr><Mc>张三</Mc><Zjh>{PARTY_ID}</Zjh><Fe>1/2</Fe></Qlr>
      <Dyxx>
        <Dyqr>示例银行兰州分行</Dyqr><Bdbzqse>350000.00</Bdbzqse>
        <Qssj>20190515</Qssj><Jssj>20390514</Jssj>
      </Dyxx>
      <Cfxx>
        <Cfjg>兰州市城关区人民法院</Cfjg><Cfwh>（2023）甘0102执567号</Cfwh><Cflx>查封</Cflx>
        <Qssj>20230801</Qssj><Jssj>20260731</Jssj>
      </Cfxx>
      <Cfxx>
        <Cfjg>兰州市七里河区人民法院</Cfjg><Cfwh>（2024）甘0103执89号</Cfwh><Cflx>轮候查封</Cflx>
        <Qssj>20240110</Qssj><Lhsx>2</Lhsx>
      </Cfxx>
    </Bdcdy>"""

JOINT = f"""
    <Bdcdy>
      <Bdcdyh>620103005002GB00107F00020011</Bdcdyh>
      <Bdcqzh>甘（2021）兰州市不动产权第0054321号</Bdcqzh>
      <Zl>兰州市七里河区示例街12号1栋1001室</Zl>
      <Mj>118.30</Mj>
      <Yt>住宅</Yt>
      <Djsj>20210322</Djsj>
      <Gyfs>共同共有</Gyfs>
      <Qlr><Mc>张三</Mc><Zjh>{PARTY_ID}</Zjh></Qlr>
      <Qlr><Mc>王五</Mc><Zjh>620103199203150035</Zjh></Qlr>
    </Bdcdy>"""

SOLE = f"""
    <Bdcdy>
      <Bdcdyh>620102003001GB00012W00000105</Bdcdyh>
      <Zl>兰州市城关区示例路88号地下车位105</Zl>
      <Yt>车位</Yt>
      <Gyfs>单独所有</Gyfs>
      <Qlr><Mc>张三</Mc><Zjh>{PARTY_ID}</Zjh></Qlr>
    </Bdcdy>"""


def registry_answer(
    units: str = "", *, code: str = "0000", message: str = "查询成功", encoding: str = "gbk"
) -> bytes:
    """The registry's answer as it sends it: declared GBK, encoded ``encoding``."""
    listing = f"<Fcxx>{units}</Fcxx>" if units else ""
    text = f"""<?xml version="1.0" encoding="GBK"?>
<CxResponse>
  <Head>
    <Ywh>BDC-20240506-000123</Ywh><Jgdm>{code}</Jgdm><Jgxx>{message}</Jgxx>
    <Cxsj>20240506101530</Cxsj>
  </Head>
  {listing}
</CxResponse>"""
    return text.encode(encoding)


class TestRealEstateConformance(AdapterConformance):
    adapter_class = RealEstateRegistryAdapter
    institution = INSTITUTION
    base_url = "https://bdc.lanzhou.test"

    def mock_found(self, router: respx.MockRouter, party: Party) -> None:
        body = registry_answer(CO_OWNED + JOINT)
        router.post(PATH).respond(200, headers={"content-type": CONTENT_TYPE}, content=body)

    def mock_not_found(self, router: respx.MockRouter, party: Party) -> None:
        body = registry_answer(code="0001", message="未查询到登记信息")
        router.post(PATH).respond(200, headers={"content-type": CONTENT_TYPE}, content=body)


@pytest.fixture
def adapter() -> RealEstateRegistryAdapter:
    return RealEstateRegistryAdapter(INSTITUTION)


def answer_with(router: respx.MockRouter, body: bytes) -> respx.Route:
    """The registry answers ``body`` with the content type it really sends."""
    return router.post(PATH).respond(200, headers={"content-type": CONTENT_TYPE}, content=body)


async def test_co_owned_unit_reports_the_partys_share_and_every_control(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(CO_OWNED))

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.OK
    assert answer.reference == "BDC-20240506-000123"
    (unit,) = answer.assets
    assert unit.kind == "real_estate"
    assert unit.institution == "bdc-lanzhou"
    assert unit.identifier == "620102003001GB00012F00010023"
    assert unit.identifier_type == "unit_number"
    # the party is the second owner listed: its own share is reported, the other is a co-owner
    assert unit.owner.name == "张三"
    assert unit.share == Fraction(1, 2)
    assert [(o.name, o.share) for o in unit.co_owners] == [("李四", Fraction(1, 2))]
    assert unit.value is None
    assert unit.as_of == datetime(2024, 5, 6, 2, 15, 30, tzinfo=UTC)
    assert unit.details == {
        "certificate_number": "甘（2019）兰州市不动产权第0012345号",
        "location": "兰州市城关区示例路88号3单元502室",
        "area_m2": "96.52",
        "use": "住宅",
        "tenure": "按份共有",
        "registered_on": "2019-05-10",
    }
    mortgage, seal, waiting_seal = unit.encumbrances
    assert mortgage.kind is EncumbranceKind.MORTGAGE
    assert mortgage.authority == "示例银行兰州分行"
    assert mortgage.amount == Money("350000.00")
    assert (mortgage.start, mortgage.end) == (date(2019, 5, 15), date(2039, 5, 14))
    assert seal.kind is EncumbranceKind.SEAL
    assert (seal.authority, seal.case_number) == ("兰州市城关区人民法院", "（2023）甘0102执567号")
    assert (seal.start, seal.end) == (date(2023, 8, 1), date(2026, 7, 31))
    assert (seal.waiting, seal.position) == (False, None)
    assert waiting_seal.kind is EncumbranceKind.SEAL
    assert (waiting_seal.waiting, waiting_seal.position) == (True, 2)
    assert waiting_seal.end is None


async def test_joint_ownership_has_no_share(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(JOINT))

    (unit,) = (await adapter.inquire(client, inquiry)).assets

    # 共同共有: undivided, so no share can be attributed to the party
    assert unit.share is None
    assert unit.details["tenure"] == "共同共有"
    assert [o.name for o in unit.co_owners] == ["王五"]


async def test_sole_ownership_is_the_whole_unit(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(SOLE))

    (unit,) = (await adapter.inquire(client, inquiry)).assets

    assert unit.share == Fraction(1)
    assert unit.co_owners == ()
    assert unit.encumbrances == ()
    # optional fields the registry left out are absent, not empty strings
    assert set(unit.details) == {"location", "use", "tenure"}


async def test_gbk_declared_answer_with_gb18030_characters_is_read(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    # 𠮷 is not in GBK; registries declaring GBK send such rare name characters as GB18030
    unit = SOLE.replace("<Mc>张三</Mc>", "<Mc>张𠮷</Mc>")
    answer_with(router, registry_answer(unit, encoding="gb18030"))

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.owner.name == "张𠮷"


async def test_utf8_answer_is_read_too(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    body = registry_answer(SOLE).decode("gbk").replace('encoding="GBK"', 'encoding="UTF-8"')
    router.post(PATH).respond(
        200, headers={"content-type": "application/xml"}, content=body.encode("utf-8")
    )

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.details["location"] == "兰州市城关区示例路88号地下车位105"


@pytest.mark.parametrize(("party_kind", "id_type"), [("person", "1"), ("organization", "7")])
async def test_request_names_the_holder_and_the_case(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    organization: Party,
    party_kind: str,
    id_type: str,
) -> None:
    route = answer_with(router, registry_answer(code="0001"))
    holder = inquiry.party if party_kind == "person" else organization
    request = InquiryRequest(party=holder, case=inquiry.case, request_id="req-0001")

    await adapter.inquire(client, request)

    sent = ElementTree.fromstring(route.calls.last.request.content)
    assert sent.tag == "CxRequest"
    assert sent.findtext("Ywh") == "req-0001"
    assert sent.findtext("Ah") == "（2024）甘0191执1234号"
    assert sent.findtext("Fy") == "兰州新区人民法院"
    assert sent.findtext("Cbr") == "执行员甲"
    assert sent.findtext("Qlr/Mc") == holder.name
    assert sent.findtext("Qlr/Zjlx") == id_type
    assert sent.findtext("Qlr/Zjh") == holder.id_number


async def test_nothing_registered_is_not_found(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(code="0001", message="未查询到登记信息"))

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.NOT_FOUND
    assert answer.assets == ()
    assert answer.reference == "BDC-20240506-000123"


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        ("1001", InstitutionRejected, False),
        ("1002", InstitutionRejected, False),
        ("1003", InstitutionRejected, False),
        ("9001", InstitutionUnavailable, True),
        ("8002", InstitutionFailure, False),
    ],
)
async def test_result_codes_map_to_typed_errors(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    code: str,
    error: type[Exception],
    retryable: bool,
) -> None:
    answer_with(router, registry_answer(code=code, message="系统处理异常"))

    with pytest.raises(error) as caught:
        await adapter.inquire(client, inquiry)

    assert type(caught.value) is error
    assert caught.value.code == f"registry_{code}"  # type: ignore[attr-defined]
    assert caught.value.retryable is retryable  # type: ignore[attr-defined]
    assert "系统处理异常" in str(caught.value)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE CxResponse [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE CxResponse [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE CxResponse SYSTEM "http://evil.test/registry.dtd">',
    ],
    ids=["external_entity", "entity_expansion", "external_dtd"],
)
async def test_dtds_and_entities_are_refused(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    doctype: str,
) -> None:
    body = registry_answer(SOLE).replace(b"?>", f"?>{doctype}".encode(), 1)
    answer_with(router, body)

    with pytest.raises(MalformedResponse) as caught:
        await adapter.inquire(client, inquiry)

    assert caught.value.code == "forbidden_xml"


async def test_invalid_unit_number_names_the_field(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    # X is not a fixture type (F, L, Q or W)
    unit = SOLE.replace("620102003001GB00012W00000105", "620102003001GB00012X00000105")
    answer_with(router, registry_answer(CO_OWNED + unit))

    with pytest.raises(MalformedResponse) as caught:
        await adapter.inquire(client, inquiry)

    assert caught.value.code == "unexpected_shape"
    assert "CxResponse/Fcxx/Bdcdy[1]/Bdcdyh" in caught.value.message


@pytest.mark.parametrize("share", ["一半", "1/0", "3/2"])
async def test_unreadable_share_names_the_field(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    share: str,
) -> None:
    answer_with(router, registry_answer(CO_OWNED.replace("<Fe>1/2</Fe>", f"<Fe>{share}</Fe>", 1)))

    with pytest.raises(MalformedResponse, match=r"Bdcdy\[0\]/Qlr\[0\]/Fe"):
        await adapter.inquire(client, inquiry)


async def test_unit_without_owners_is_a_shape_error(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    unit = SOLE.replace(f"<Qlr><Mc>张三</Mc><Zjh>{PARTY_ID}</Zjh></Qlr>", "")
    answer_with(router, registry_answer(unit))

    with pytest.raises(MalformedResponse, match="Qlr"):
        await adapter.inquire(client, inquiry)


async def test_other_root_element_is_a_shape_error(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(SOLE).replace(b"CxResponse", b"CxResult"))

    with pytest.raises(MalformedResponse, match="CxResult"):
        await adapter.inquire(client, inquiry)


# --- what real registries get wrong --------------------------------------------------------


async def test_invalid_unit_number_is_not_echoed(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    unit = SOLE.replace("620102003001GB00012W00000105", "620102003001GB00012X00000105")
    answer_with(router, registry_answer(unit))

    with pytest.raises(MalformedResponse) as caught:
        await adapter.inquire(client, inquiry)

    assert "620102003001GB00012X00000105" not in caught.value.message


async def test_waiting_position_zero_is_a_shape_error(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(CO_OWNED.replace("<Lhsx>2</Lhsx>", "<Lhsx>0</Lhsx>")))

    with pytest.raises(MalformedResponse, match="Lhsx"):
        await adapter.inquire(client, inquiry)


async def test_missing_tenure_with_shares_keeps_the_partys_share(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    answer_with(router, registry_answer(CO_OWNED.replace("<Gyfs>按份共有</Gyfs>", "")))

    (unit,) = (await adapter.inquire(client, inquiry)).assets

    assert unit.share == Fraction(1, 2)


async def test_owner_is_matched_whatever_the_case_of_the_check_character(
    adapter: RealEstateRegistryAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    case: Case,
) -> None:
    party = Party.person("赵六", "11010519900307128X")
    # legacy registry records keep the lower-case x the party's number was first filed with
    unit = CO_OWNED.replace("<Fe>1/2</Fe>", "<Fe>2/3</Fe>", 1).replace(
        f"<Mc>张三</Mc><Zjh>{PARTY_ID}</Zjh><Fe>1/2</Fe>",
        "<Mc>赵六</Mc><Zjh>11010519900307128x</Zjh><Fe>1/3</Fe>",
    )
    answer_with(router, registry_answer(unit))
    request = InquiryRequest(party=party, case=case, request_id="req-0001")

    (record,) = (await adapter.inquire(client, request)).assets

    assert record.owner.name == "赵六"
    assert record.share == Fraction(1, 3)
