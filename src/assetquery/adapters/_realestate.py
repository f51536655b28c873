"""The real-estate registry (不动产登记中心): XML in, XML out, often in GBK.

Request, ``POST {path}`` (default ``/bdc/judicial/query``)::

    <CxRequest>
      <Ywh>request id</Ywh> <Ah>case number</Ah> <Fy>court</Fy> <Cbr>operator</Cbr>
      <Qlr><Mc>name</Mc><Zjlx>1 = resident ID, 7 = credit code</Zjlx><Zjh>number</Zjh></Qlr>
    </CxRequest>

Answer::

    <CxResponse>
      <Head><Ywh/><Jgdm>result code</Jgdm><Jgxx>message</Jgxx><Cxsj>YYYYMMDDHHMMSS</Cxsj></Head>
      <Fcxx>
        <Bdcdy>                                   one registered unit
          <Bdcdyh>28-character unit number</Bdcdyh> <Bdcqzh>certificate</Bdcqzh>
          <Zl>location</Zl> <Mj>area m²</Mj> <Yt>use</Yt> <Djsj>YYYYMMDD</Djsj>
          <Gyfs>单独所有 | 共同共有 | 按份共有</Gyfs>
          <Qlr><Mc/><Zjh/><Fe>share, e.g. 1/2</Fe></Qlr> ...   every owner
          <Dyxx><Dyqr>mortgagee</Dyqr><Bdbzqse>secured amount</Bdbzqse><Qssj/><Jssj/></Dyxx>
          <Cfxx><Cfjg>authority</Cfjg><Cfwh>case</Cfwh><Cflx>查封 | 轮候查封</Cflx>
                <Qssj/><Jssj/><Lhsx>waiting-line position</Lhsx></Cfxx>
        </Bdcdy>
      </Fcxx>
    </CxResponse>

Result codes: 0000 found, 0001 nothing registered, 1001 bad request, 1002 credentials,
1003 not permitted, 9001 busy (retryable); anything else is the registry's own failure.

Control actions (查封, 续封, 解封), ``POST {control_path}`` (default
``/bdc/judicial/control``)::

    <KzRequest>
      <Ywh>idempotency key</Ywh> <Czlx>CF seal | XF renew | JF release</Czlx>
      <Ah>case number</Ah> <Fy>court</Fy> <Cbr>operator</Cbr> <Wh>assistance notice number</Wh>
      <Qlr><Mc/><Zjlx/><Zjh/></Qlr> <Bdcdyh>unit number</Bdcdyh>
      <Hcf>1 live seal (活查封) | 0</Hcf> <Ykzbh>registry id of the seal acted on</Ykzbh>
      <Jssj>requested end YYYYMMDD</Jssj>                 (Ykzbh and Jssj when given)
    </KzRequest>

Answer (like every answer, possibly GBK)::

    <KzResponse>
      <Head><Ywh/><Jgdm/><Jgxx/><Cxsj/></Head>
      <Kz><Kzbh>registry id of the control or operation</Kzbh> <Czlx/>
          <Zt>SL received | YX effective | LH waiting | JC released | SX lapsed | JJ refused</Zt>
          <Qssj>effective YYYYMMDD</Qssj> <Jssj>end YYYYMMDD</Jssj>
          <Lhsx>waiting-line position</Lhsx> <Sm>message, the reason of a refusal</Sm></Kz>
    </KzResponse>

A renewal or release has its own ``Kzbh`` and is ``YX`` once done; a renewal's ``Jssj`` is
the seal's new end. Status, ``POST {control_path}/status`` with ``<KzCx><Ywh>key</Ywh></KzCx>``:
the same answer, or result code 0001 when the registry never received the key. Result code
1009 (with HTTP 409): the key was used for a different request.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import ClassVar
from xml.etree.ElementTree import Element, SubElement, tostring
from xml.sax.saxutils import escape

import httpx

from .._errors import (
    InstitutionRejected,
    InvalidInput,
    MalformedResponse,
)
from .._identifiers import compact, safe_code, scrub, validate_unit_number
from .._models import (
    AssetKind,
    AssetRecord,
    Encumbrance,
    EncumbranceKind,
    Owner,
    PartyKind,
    Provenance,
)
from .._time import shanghai_datetime
from ._base import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Operation,
    ResultCodes,
    check_same_action,
    idempotency_conflict,
)
from ._wire import XmlFields, xml_body

__all__ = ["RealEstateRegistryAdapter"]

_ID_TYPE = {PartyKind.PERSON: "1", PartyKind.ORGANIZATION: "7"}
_CODES = ResultCodes(
    prefix="registry",
    answered=frozenset({"0000", "0001"}),
    rejected={"1001": "bad request", "1002": "credentials refused", "1003": "not permitted"},
    busy=frozenset({"9001"}),
)
_CONTROL_CODES = ResultCodes(
    prefix="registry",
    answered=frozenset({"0000"}),
    rejected={
        "1001": "bad request",
        "1002": "credentials refused",
        "1003": "not permitted",
    },
    busy=frozenset({"9001"}),
)
_NO_SUCH_ACTION = "0001"
_CONFLICT = "1009"
_SOLE, _JOINT = "单独所有", "共同共有"
_WAITING_SEAL = "轮候查封"
_OPERATIONS = {Operation.SEAL: "CF", Operation.RENEW: "XF", Operation.RELEASE: "JF"}
_CONTROL_STATES = {
    "SL": ControlState.RECEIVED,
    "YX": ControlState.EFFECTIVE,
    "LH": ControlState.WAITING,
    "JC": ControlState.RELEASED,
    "SX": ControlState.LAPSED,
    "JJ": ControlState.REJECTED,
}
_XML = {"content-type": "application/xml; charset=utf-8"}


class RealEstateRegistryAdapter(Adapter):
    name: ClassVar[str] = "realestate"
    capabilities = frozenset(
        {Operation.INQUIRY, Operation.SEAL, Operation.RENEW, Operation.RELEASE, Operation.STATUS}
    )
    asset_kinds = frozenset({AssetKind.REAL_ESTATE.value})

    @property
    def _control_path(self) -> str:
        return str(self.institution.options.get("control_path", "/bdc/judicial/control"))

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        operation = _OPERATIONS.get(request.operation)
        if operation is None:
            return await super().submit(client, request)  # refuses: not offered here
        if request.asset_kind not in self.asset_kinds:
            raise InstitutionRejected(
                f"{self.institution.name} holds no {request.asset_kind} assets for this adapter "
                "to act on",
                code="unsupported_operation",
            )
        root = Element("KzRequest")
        SubElement(root, "Ywh").text = request.idempotency_key
        SubElement(root, "Czlx").text = operation
        SubElement(root, "Ah").text = request.case.number
        SubElement(root, "Fy").text = request.case.court or ""
        SubElement(root, "Cbr").text = request.case.operator
        SubElement(root, "Wh").text = request.case.enforcement_document or ""
        _holder(root, request.party.name, request.party.kind, request.party.id_number)
        SubElement(root, "Bdcdyh").text = request.asset_identifier
        SubElement(root, "Hcf").text = "1" if request.live_seal else "0"
        if request.target is not None:
            SubElement(root, "Ykzbh").text = request.target
        if request.ends_on is not None:
            SubElement(root, "Jssj").text = f"{request.ends_on:%Y%m%d}"
        return await self._exchange(client, self._control_path, root, request, lookup=False)

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        root = Element("KzCx")
        SubElement(root, "Ywh").text = request.idempotency_key
        path = self._control_path.rstrip("/") + "/status"
        return await self._exchange(client, path, root, request, lookup=True)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        path: str,
        root: Element,
        request: ControlRequest,
        *,
        lookup: bool,
    ) -> ControlStatus:
        body: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
        name = self.institution.name
        try:
            response = await self.send(client, "POST", path, content=body, headers=_XML)
        except InstitutionRejected as exc:
            if exc.code == "http_409":
                raise idempotency_conflict(name) from None
            raise
        answer = xml_body(response, name)
        if answer.tag != "KzResponse":
            raise MalformedResponse(
                f"{name} answered <{safe_code(answer.tag)}> instead of <KzResponse>",
                code="unexpected_shape",
            )
        head = answer.child("Head")
        code = head.text("Jgdm")
        said = head.opt_text("Jgxx")
        if lookup and code == _NO_SUCH_ACTION:
            return ControlStatus(ControlState.UNKNOWN)
        if code == _CONFLICT:
            raise idempotency_conflict(name)
        _CONTROL_CODES.check(
            code, said, name, subject="control request", hide=(request.party.name,)
        )
        check_same_action(head.opt_text("Ywh"), request, name, f"{head.path}/Ywh")
        control = answer.child("Kz")
        state = _CONTROL_STATES.get(control.text("Zt"))
        if state is None:
            raise MalformedResponse(
                f"field {control.path}/Zt is not a known control state", code="unexpected_shape"
            )
        return ControlStatus(
            state=state,
            reference=(
                control.opt_text("Kzbh") if state is ControlState.REJECTED else control.text("Kzbh")
            ),
            effective_on=control.opt_day("Qssj"),
            ends_on=control.opt_day("Jssj"),
            waiting_position=control.opt_position("Lhsx"),
            message=_said(control.opt_text("Sm"), request),
        )

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        path = str(self.institution.options.get("path", "/bdc/judicial/query"))
        response = await self.send(
            client, "POST", path, content=_request_xml(request), headers=_XML
        )
        root = xml_body(response, self.institution.name)
        if root.tag != "CxResponse":
            raise MalformedResponse(
                f"{self.institution.name} answered <{safe_code(root.tag)}> instead of <CxResponse>",
                code="unexpected_shape",
            )
        head = root.child("Head")
        _CODES.check(
            head.text("Jgdm"),
            head.opt_text("Jgxx"),
            self.institution.name,
            hide=(request.party.name,),
        )
        received = _timestamp(head)
        reference = head.opt_text("Ywh")
        if head.text("Jgdm") == "0001":
            return InquiryAnswer.not_found(reference=reference)
        listing = root.opt_child("Fcxx")
        units = [] if listing is None else list(listing.items("Bdcdy"))
        if not units:
            # 0000 says "found"; nothing found is 0001. Units we cannot see (misplaced, or
            # renamed) must not turn into "this party owns no real estate".
            raise MalformedResponse(
                f"{self.institution.name} answered 0000 (found) but listed no units under "
                "CxResponse/Fcxx/Bdcdy",
                code="unexpected_shape",
            )
        provenance = Provenance(
            institution=self.institution.id,
            adapter=self.name,
            reference=reference,
            received_at=received,
        )
        return InquiryAnswer.found(self._units(units, request, provenance), reference=reference)

    def _units(
        self, units: list[XmlFields], request: InquiryRequest, provenance: Provenance
    ) -> tuple[AssetRecord, ...]:
        # Apart from inquire(): a generator there would hold its variables for the whole
        # exchange, answer awaited included.
        return tuple(self._unit(unit, request, provenance) for unit in units)

    def _unit(
        self, unit: XmlFields, request: InquiryRequest, provenance: Provenance
    ) -> AssetRecord:
        try:
            unit_number = validate_unit_number(unit.text("Bdcdyh"))
        except InvalidInput:
            raise MalformedResponse(
                f"field {unit.path}/Bdcdyh is not a 28-character GB/T 37346 unit number",
                code="unexpected_shape",
            ) from None
        owners = [
            Owner(name=q.text("Mc"), id_number=q.opt_text("Zjh"), share=_share(q))
            for q in unit.items("Qlr")
        ]
        if not owners:
            raise MalformedResponse(f"field {unit.path}/Qlr is missing", code="unexpected_shape")
        party_id = request.party.id_number
        owner = next((o for o in owners if o.id_number and compact(o.id_number) == party_id), None)
        tenure = unit.opt_text("Gyfs")
        if owner is None:
            # The party is not among the listed owners (a registry keyed by an old ID, say):
            # report the unit, but claim no share rather than someone else's.
            owner, share = owners[0], None
        elif tenure == _JOINT:
            share = None
        elif tenure == _SOLE or (tenure is None and len(owners) == 1):
            share = Fraction(1)
        else:
            share = owner.share
        details = {
            "certificate_number": unit.opt_text("Bdcqzh"),
            "location": unit.opt_text("Zl"),
            "area_m2": unit.opt_text("Mj"),
            "use": unit.opt_text("Yt"),
            "tenure": tenure,
            "registered_on": d.isoformat() if (d := unit.opt_day("Djsj")) else None,
        }
        return AssetRecord(
            kind=AssetKind.REAL_ESTATE,
            institution=self.institution.id,
            identifier=unit_number,
            identifier_type="unit_number",
            owner=owner,
            share=share,
            co_owners=tuple(o for o in owners if o is not owner),
            encumbrances=tuple(_encumbrances(unit)),
            as_of=provenance.received_at,
            details={k: v for k, v in details.items() if v},
            provenance=provenance,
        )


def _request_xml(request: InquiryRequest) -> bytes:
    """The inquiry. Put together from escaped strings: it is on every lookup's path, and
    building an ElementTree to serialize costs more than the rest of the request."""
    case, party = request.case, request.party
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<CxRequest><Ywh>{escape(request.request_id)}</Ywh><Ah>{escape(case.number)}</Ah>"
        f"<Fy>{escape(case.court or '')}</Fy><Cbr>{escape(case.operator)}</Cbr>"
        f"<Qlr><Mc>{escape(party.name)}</Mc><Zjlx>{_ID_TYPE[party.kind]}</Zjlx>"
        f"<Zjh>{escape(party.id_number)}</Zjh></Qlr></CxRequest>"
    ).encode()


def _holder(root: Element, name: str, kind: PartyKind, id_number: str) -> None:
    holder = SubElement(root, "Qlr")
    SubElement(holder, "Mc").text = name
    SubElement(holder, "Zjlx").text = _ID_TYPE[kind]
    SubElement(holder, "Zjh").text = id_number


def _timestamp(head: XmlFields) -> datetime:
    """The registry's answer time: a Shanghai wall-clock ``YYYYMMDDHHMMSS``, in UTC."""
    text = head.text("Cxsj")
    try:
        if len(text) != 14 or not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        wall_clock = datetime(  # noqa: DTZ001 - a Shanghai wall-clock time, placed below
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
        )
        return shanghai_datetime(wall_clock)
    except (ValueError, OverflowError):
        raise MalformedResponse(
            f"field {head.path}/Cxsj is not a timestamp (YYYYMMDDHHMMSS)", code="unexpected_shape"
        ) from None


def _share(holder: XmlFields) -> Fraction | None:
    text = holder.opt_text("Fe")
    if text is None:
        return None
    try:
        numerator, _, denominator = text.replace("／", "/").partition("/")
        share = Fraction(int(numerator), int(denominator or 1))
    except (ValueError, ZeroDivisionError):
        raise MalformedResponse(
            f"field {holder.path}/Fe is not a share like 1/2", code="unexpected_shape"
        ) from None
    if not 0 < share <= 1:
        raise MalformedResponse(f"field {holder.path}/Fe is not in (0, 1]", code="unexpected_shape")
    return share


def _encumbrances(unit: XmlFields) -> list[Encumbrance]:
    found = [
        Encumbrance(
            kind=EncumbranceKind.MORTGAGE,
            authority=m.opt_text("Dyqr"),
            amount=m.opt_money("Bdbzqse"),
            start=m.opt_day("Qssj"),
            end=m.opt_day("Jssj"),
        )
        for m in unit.items("Dyxx")
    ]
    for seal in unit.items("Cfxx"):
        waiting = seal.opt_text("Cflx") == _WAITING_SEAL
        found.append(
            Encumbrance(
                kind=EncumbranceKind.SEAL,
                authority=seal.opt_text("Cfjg"),
                case_number=seal.opt_text("Cfwh"),
                start=seal.opt_day("Qssj"),
                end=seal.opt_day("Jssj"),
                waiting=waiting,
                position=seal.opt_position("Lhsx") if waiting else None,
            )
        )
    return found


def _said(text: str | None, request: ControlRequest) -> str | None:
    """The institution's own words about an action, scrubbed of personal data."""
    return scrub(text, hide=(request.party.name,)) if text else None
