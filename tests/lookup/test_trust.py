"""Trust: who may ask, the tamper-evident audit trail, the circuit breaker, size caps."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from assetquery import Case, Dispatcher, Money, Party, RefusedRequest, ResultStatus
from assetquery._cli._app import app
from assetquery._config import settings_from_mapping
from assetquery.ledger._ledger import ActionLedger
from assetquery.sandbox import dataset
from assetquery.store import Store

from .. import samples
from ..samples import BANK_PATH, FUND_PATH, REGISTRY_PATH, TICKET_PATH

runner = CliRunner()
FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z*])")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    # Mocked at httpx's level: whatever transport an institution uses underneath.
    with respx.mock(assert_all_called=False, using="httpx") as mock:
        yield mock


def answer_all(router: respx.MockRouter, person: Party) -> None:
    router.post(REGISTRY_PATH).respond(200, content=samples.registry_xml(person.id_number))
    router.post(FUND_PATH).respond(200, json=samples.fund_json(person.id_number))
    router.post(BANK_PATH).respond(200, json=samples.bank_json())
    router.post(TICKET_PATH).respond(200, json=samples.bank_json(accounts=2))


def with_access(**access: object) -> Dispatcher:
    base = samples.settings()
    data = base.model_dump(mode="python")
    data["access"] = access
    return Dispatcher(settings_from_mapping(data))


# --- who may ask ----------------------------------------------------------------------------


async def test_operator_and_court_allow_lists_are_enforced_and_audited(
    router: respx.MockRouter, person: Party, case: Case, store_url: str
) -> None:
    answer_all(router, person)
    store = Store(store_url)
    dispatcher = with_access(operators=["王法官"], courts=["兰州新区人民法院"])
    dispatcher.store = store
    async with dispatcher:
        with pytest.raises(RefusedRequest, match="operator '李承办' is not on the configured"):
            await dispatcher.lookup(person, case)
        assert not router.calls  # refused before any request left the process
        allowed = case.model_copy(update={"operator": "王法官"})
        report = await dispatcher.lookup(person, allowed)
        assert report.complete
        elsewhere = allowed.model_copy(update={"court": "另一法院"})
        with pytest.raises(RefusedRequest, match="court '另一法院' is not on the configured"):
            await dispatcher.lookup(person, elsewhere)
    events = [e.event for e in store.audit.entries()]
    assert events.count("inquiry.refused") == 2
    assert "inquiry.sent" in events
    assert store.audit.verify().ok
    store.close()


async def test_an_inquiry_without_a_case_number_is_refused_before_any_request(
    router: respx.MockRouter, person: Party
) -> None:
    unchecked = Case.model_construct(
        number="no case", operator="李承办", court=None, claim=None, enforcement_document=None
    )
    async with Dispatcher(samples.settings()) as dispatcher:
        with pytest.raises(RefusedRequest, match="is not a case number"):
            await dispatcher.lookup(person, unchecked)
    assert not router.calls


@pytest.mark.looptime
async def test_the_ledger_enforces_the_allow_list_too(store_url: str) -> None:
    p = dataset().find("both_banks")[0]
    party = Party.parse(p.name, p.id_number, p.kind)
    case = Case(
        number=p.case_number,
        court=p.court,
        operator="李承办",
        claim=p.claim,
        enforcement_document="（2026）甘0102执1号之一",
    )
    store = Store(store_url)
    dispatcher = Dispatcher.sandbox(store=store)
    dispatcher.settings = dispatcher.settings.model_copy(
        update={"access": settings_from_mapping({"access": {"operators": ["王法官"]}}).access}
    )
    async with dispatcher:
        ledger = ActionLedger(store, dispatcher)
        with pytest.raises(RefusedRequest, match="not on the configured allow-list"):
            await ledger.freeze(
                party,
                case,
                institution="bank-east",
                identifier="6217999118344406910",
                amount=Money("1"),
            )
    assert await ledger.list() == []
    refused = [e for e in store.audit.entries() if e.event == "action.refused"]
    assert len(refused) == 1 and "allow-list" in refused[0].detail
    store.close()


# --- the audit trail ---------------------------------------------------------------------------


@pytest.mark.looptime
async def test_lookups_and_actions_are_audited_without_personal_data(store_url: str) -> None:
    p = dataset().find("both_banks")[0]
    party = Party.parse(p.name, p.id_number, p.kind)
    case = Case(
        number=p.case_number,
        court=p.court,
        operator="李承办",
        claim=p.claim,
        enforcement_document="（2026）甘0102执1号之一",
    )
    store = Store(store_url)
    async with Dispatcher.sandbox(store=store) as dispatcher:
        report = await dispatcher.lookup(party, case)
        east = next(a for a in report.assets if a.institution == "bank-east")
        ledger = ActionLedger(store, dispatcher)
        action = await ledger.freeze(
            party, case, institution="bank-east", identifier=east.identifier, amount=Money("1.00")
        )
        await ledger.release(action.id, operator="李承办", document="（2026）甘0102执1号之二")
    entries = list(store.audit.entries())
    events = [e.event for e in entries]
    assert events[:5] == ["inquiry.sent"] + ["inquiry.answer"] * 4
    assert "action.requested" in events and "action.effective" in events
    assert "action.released" in events and "action.completed" in events
    text = json.dumps(
        [e.__dict__ if hasattr(e, "__dict__") else str(e) for e in entries],
        default=str,
        ensure_ascii=False,
    ) + repr(entries)
    assert p.id_number not in text and p.name not in text and east.identifier not in text
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    check = store.audit.verify()
    assert check.ok and check.entries == len(entries)
    store.close()


def _seed_trail(path: Path) -> str:
    url = f"sqlite:///{path}"
    store = Store(url)
    from datetime import UTC, datetime

    from assetquery.store import AuditEvent

    for n in range(6):
        store.audit.append(
            [AuditEvent(event="inquiry.sent", actor="李", case_number="C", detail={"n": n})],
            at=datetime.now(UTC),
        )
    store.close()
    return url


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_entries SET actor = '王' WHERE seq = 3", "entry 3 was altered"),
        ("UPDATE audit_entries SET detail = '{\"n\": 9}' WHERE seq = 4", "entry 4 was altered"),
        ("DELETE FROM audit_entries WHERE seq = 2", "entries 2–2 are missing"),
        # Swap the contents of two rows, keeping each hash with its row: a reordering.
        (
            "UPDATE audit_entries SET seq = CASE seq WHEN 3 THEN 5 WHEN 5 THEN 3 END "
            "WHERE seq IN (3, 5)",
            "entry 3",
        ),
    ],
)
def test_any_edit_delete_or_reorder_is_named_by_verify(
    tmp_path: Path, tamper: str, named: str
) -> None:
    path = tmp_path / "trail.db"
    url = _seed_trail(path)
    assert runner.invoke(app, ["audit", "verify", "--store", url]).exit_code == 0

    with sqlite3.connect(path) as connection:
        if "seq = CASE" in tamper:  # the unique index would refuse the swap in one step
            connection.execute("UPDATE audit_entries SET seq = -seq WHERE seq IN (3, 5)")
            connection.execute("UPDATE audit_entries SET seq = 5 WHERE seq = -3")
            connection.execute("UPDATE audit_entries SET seq = 3 WHERE seq = -5")
        else:
            connection.execute(tamper)

    result = runner.invoke(app, ["audit", "verify", "--store", url])
    assert result.exit_code == 3
    assert named in result.output


APPEND = """
from datetime import UTC, datetime
from assetquery.store import AuditEvent, Store
store = Store({url!r})
for n in range(40):
    store.audit.append([AuditEvent(event="inquiry.sent", actor={who!r}, detail={{"n": n}})],
                       at=datetime.now(UTC))
print("done")
"""


def test_appends_from_several_processes_keep_one_intact_chain(store_url: str) -> None:
    Store(store_url).close()  # migrate once, before the writers race
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPEND.format(url=store_url, who=who)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("A", "B", "C")
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    store = Store(store_url)
    check = store.audit.verify()
    assert check.ok and check.entries == 120
    store.close()


def test_export_jsonl_and_csv(tmp_path: Path) -> None:
    url = _seed_trail(tmp_path / "trail.db")
    result = runner.invoke(app, ["audit", "export", "--store", url, "--format", "jsonl"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    target = tmp_path / "audit.csv"
    result = runner.invoke(
        app,
        [
            "audit",
            "export",
            "--store",
            url,
            "--format",
            "csv",
            "-o",
            str(target),
            "--since",
            "2000-01-01",
        ],
    )
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8-sig").startswith("seq,at,actor,event")
    bad = runner.invoke(app, ["audit", "export", "--store", url, "--format", "xml"])
    assert bad.exit_code == 2


# --- resilience -------------------------------------------------------------------------------


@pytest.mark.looptime
async def test_the_circuit_opens_after_repeated_failures_and_half_opens(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    bank = router.post(BANK_PATH)
    bank.mock(side_effect=httpx.ConnectError("refused"))
    settings = samples.settings(retry={"attempts": 1}, breaker={"failures": 3, "cool_down": 60})
    async with Dispatcher(settings) as dispatcher:
        for _ in range(3):
            assert (await dispatcher.lookup(person, case)).result_for("bank").status is (
                ResultStatus.FAILED
            )
        calls = bank.call_count
        skipped = (await dispatcher.lookup(person, case)).result_for("bank")
        assert skipped.status is ResultStatus.SKIPPED
        assert skipped.error is not None and skipped.error.code == "circuit_open"
        assert "failed 3 times in a row" in skipped.error.message
        assert bank.call_count == calls  # no request: it did not wait on the network

        await asyncio.sleep(61)
        bank.mock(side_effect=None).respond(200, json=samples.bank_json())
        probe = (await dispatcher.lookup(person, case)).result_for("bank")
        assert probe.status is ResultStatus.OK  # the trial request went out and closed it
        assert (await dispatcher.lookup(person, case)).result_for("bank").status is (
            ResultStatus.OK
        )


@pytest.mark.looptime
async def test_a_cancelled_trial_request_lets_the_next_one_try(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    # The half-open circuit's one trial request was cancelled (a batch stopped, an outer
    # timeout): it told nothing, so the next lookup must be allowed to try, not be
    # refused for as long as the dispatcher lives.
    answer_all(router, person)
    bank = router.post(BANK_PATH)
    bank.mock(side_effect=httpx.ConnectError("refused"))
    settings = samples.settings(retry={"attempts": 1}, breaker={"failures": 1, "cool_down": 60})
    async with Dispatcher(settings) as dispatcher:
        assert (await dispatcher.lookup(person, case)).result_for("bank").status is (
            ResultStatus.FAILED
        )
        await asyncio.sleep(61)
        trial_sent = asyncio.Event()

        async def hang(request: httpx.Request) -> httpx.Response:
            trial_sent.set()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        bank.mock(side_effect=hang)
        lookup = asyncio.ensure_future(dispatcher.lookup(person, case))
        await trial_sent.wait()
        lookup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await lookup

        bank.mock(side_effect=None).respond(200, json=samples.bank_json())
        after = (await dispatcher.lookup(person, case)).result_for("bank")
        assert after.status is ResultStatus.OK


async def test_an_oversized_answer_is_refused(person: Party, case: Case) -> None:
    def bank(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"pad": "' + b"x" * 5000 + b'"}')

    settings = samples.settings(max_response_bytes=2048)
    transports = {i.id: httpx.MockTransport(bank) for i in settings.institutions}
    async with Dispatcher(settings, transports=transports) as dispatcher:
        report = await dispatcher.lookup(person, case)
    for result in report.results:
        assert result.status is ResultStatus.FAILED
        assert result.error is not None and result.error.code == "too_large"
        assert "2,048-byte limit" in result.error.message


async def test_an_oversized_stream_is_cut_off_while_reading() -> None:
    from assetquery._http._transport import CappedTransport
    from assetquery.adapters import MalformedResponse

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b"x" * 1024

    class Streaming(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, stream=_Async(endless()))

    class _Async(httpx.AsyncByteStream):
        def __init__(self, chunks: AsyncIterator[bytes]) -> None:
            self._chunks = chunks

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._chunks:
                yield chunk

    transport = CappedTransport(Streaming(), 64 * 1024, "测试银行")
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(MalformedResponse, match="65,536-byte limit") as refused:
            await client.get("https://bank.test/")
    assert refused.value.code == "too_large"
