"""Notices: to the log always, and to a webhook and an entry-point callable when configured;
never with the debtor's name or number."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from assetquery import ConfigurationError
from assetquery._config import NotifySettings
from assetquery.worker import _notify
from assetquery.worker._notify import Notice, deliver

NOTICE = Notice(
    event="renewal_due",
    key="renewal_due:7:2027-01-10",
    message="renewal due",
    case_number="（2024）甘0191执1234号",
    institution="bank-east",
    action_id=7,
    detail={"days_left": 12},
)
HOOK = "https://court-it.test/hooks/assetquery"


async def test_every_notice_is_logged_even_without_hooks(caplog: pytest.LogCaptureFixture) -> None:
    assert await deliver([NOTICE], None) == 0
    logged = json.loads(caplog.records[-1].getMessage())
    assert logged["notice"] == "renewal_due" and logged["key"] == NOTICE.key
    assert logged["days_left"] == 12 and logged["level"] == "warning"


@respx.mock(assert_all_called=True)
async def test_the_webhook_gets_the_notice_as_json_with_the_token_from_the_environment(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURT_HOOK_TOKEN", "s3cret")
    hook = respx_mock.post(HOOK).respond(204)
    settings = NotifySettings(webhook=HOOK, webhook_token_env="COURT_HOOK_TOKEN")
    assert await deliver([NOTICE], settings) == 0
    (call,) = hook.calls
    assert call.request.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(call.request.content) == NOTICE.as_json()


@respx.mock(assert_all_called=True)
async def test_a_failing_webhook_is_counted_and_logged_without_its_url(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    respx_mock.post(f"{HOOK}?token=abc").mock(side_effect=httpx.ConnectError("refused"))
    assert await deliver([NOTICE], NotifySettings(webhook=f"{HOOK}?token=abc")) == 1
    logged = caplog.text
    assert "webhook failed" in logged and "token=abc" not in logged


async def test_a_missing_token_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COURT_HOOK_TOKEN", raising=False)
    settings = NotifySettings(webhook=HOOK, webhook_token_env="COURT_HOOK_TOKEN")
    with pytest.raises(ConfigurationError, match="COURT_HOOK_TOKEN, which is not set"):
        await deliver([NOTICE], settings)


class _EntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self._target = name, target

    def load(self) -> Any:
        return self._target


async def test_an_entry_point_callable_gets_each_notice_and_its_failure_is_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[Notice] = []

    async def court_it(notice: Notice) -> None:
        received.append(notice)

    def broken(notice: Notice) -> None:
        raise RuntimeError("down")

    points = [_EntryPoint("court-it", court_it), _EntryPoint("broken", broken)]
    monkeypatch.setattr(_notify, "entry_points", lambda group: points)
    assert await deliver([NOTICE], NotifySettings(entry_point="court-it")) == 0
    assert received == [NOTICE]
    assert await deliver([NOTICE], NotifySettings(entry_point="broken")) == 1
    with pytest.raises(ConfigurationError, match="broken, court-it"):
        await deliver([NOTICE], NotifySettings(entry_point="nope"))


def test_a_webhook_must_be_an_http_url() -> None:
    with pytest.raises(ValueError, match="not an http"):
        NotifySettings(webhook="ftp://court-it.test/")
