"""Configuration: one clear message naming the key; secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetquery import ConfigurationError, load_settings

VALID = """
court = "兰州新区人民法院"

[lookup]
deadline = 45

[[institutions]]
id = "icbc-gs"
name = "工商银行甘肃省分行"
adapter = "bank"
base_url = "https://judicial.bank.example/"
concurrency = 20
rate_limit = 50
[institutions.auth]
token_env = "ICBC_TOKEN"
[institutions.retry]
attempts = 4
[institutions.options]
bank_name = "中国工商银行"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "institutions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    (bank,) = settings.institutions
    assert settings.court == "兰州新区人民法院" and settings.lookup.deadline == 45
    assert bank.base_url == "https://judicial.bank.example"
    assert bank.retry.attempts == 4 and bank.retry.max == 8.0
    assert bank.options == {"bank_name": "中国工商银行"}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETQUERY_COURT", "另一法院")
    monkeypatch.setenv("ASSETQUERY_LOOKUP__DEADLINE", "12.5")
    settings = load_settings(write(tmp_path, VALID))
    assert settings.court == "另一法院" and settings.lookup.deadline == 12.5


def test_token_is_read_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (bank,) = load_settings(write(tmp_path, VALID)).institutions
    with pytest.raises(ConfigurationError, match="ICBC_TOKEN, but that environment variable"):
        bank.auth.token()
    monkeypatch.setenv("ICBC_TOKEN", "s3cret-token")
    token = bank.auth.token()
    assert token is not None and token.get_secret_value() == "s3cret-token"
    assert "s3cret" not in repr(token)


def test_an_inline_token_is_refused_with_what_to_do(tmp_path: Path) -> None:
    text = VALID.replace('token_env = "ICBC_TOKEN"', 'token = "s3cret-token"')
    with pytest.raises(ConfigurationError) as bad:
        load_settings(write(tmp_path, text))
    message = str(bad.value)
    assert "institutions[0] (icbc-gs).auth" in message
    assert "inline secrets are not accepted" in message and "token_env" in message
    assert "s3cret" not in message


def test_a_token_on_the_institution_itself_gets_the_same_advice(tmp_path: Path) -> None:
    text = VALID.replace('token_env = "ICBC_TOKEN"', "").replace(
        "concurrency = 20", 'concurrency = 20\ntoken = "s3cret-token"'
    )
    with pytest.raises(ConfigurationError) as bad:
        load_settings(write(tmp_path, text))
    message = str(bad.value)
    assert "institutions[0] (icbc-gs)" in message and "token:" in message
    assert "inline secrets are not accepted" in message
    assert "auth.token_env" in message and "auth.token_file" in message
    assert "Extra inputs" not in message and "s3cret" not in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("concurrency = 20", "concurrency = 0"), "institutions[0] (icbc-gs).concurrency"),
        (("concurrency = 20", "concurency = 20"), "institutions[0] (icbc-gs).concurency: Extra"),
        (('base_url = "https://judicial.bank.example/"', 'base_url = "ftp://x"'), "base_url"),
        (("deadline = 45", 'deadline = "soon"'), "lookup.deadline"),
        (('id = "icbc-gs"', 'id = "ICBC GS"'), "institutions[0]"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError, match="is not valid") as bad:
        load_settings(write(tmp_path, VALID.replace(*change)))
    assert expected in str(bad.value)


def test_duplicate_ids(tmp_path: Path) -> None:
    text = VALID + VALID[VALID.index("[[institutions]]") :]
    with pytest.raises(ConfigurationError, match="'icbc-gs' is used twice"):
        load_settings(write(tmp_path, text))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_settings(write(tmp_path, "[[institutions]\nid="))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_settings(tmp_path / "missing.toml")


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "institutions.toml").write_text(
        'rules = "rules/china.toml"\ncalendar = ["holidays"]\n'
        + VALID.replace('token_env = "ICBC_TOKEN"', 'token_file = "secrets/icbc.token"'),
        encoding="utf-8",
    )
    settings = load_settings(folder / "institutions.toml")
    assert settings.rules == folder / "rules" / "china.toml"
    assert settings.calendar == (folder / "holidays",)
    assert settings.institutions[0].auth.token_file == folder / "secrets" / "icbc.token"


def test_institution_deadlines_are_configurable(tmp_path: Path) -> None:
    text = VALID + "[institutions.sla]\ninquiry = { hours = 12 }\nfreeze = { working_days = 2 }\n"
    (bank,) = load_settings(write(tmp_path, text)).institutions
    assert str(bank.sla["inquiry"]) == "12 h" and str(bank.sla["freeze"]) == "2 working days"
    with pytest.raises(ConfigurationError, match="unknown operation"):
        load_settings(write(tmp_path, VALID + "[institutions.sla]\nlunch = { hours = 1 }\n"))
    with pytest.raises(ConfigurationError, match="exactly one of hours, working_days or period"):
        load_settings(write(tmp_path, VALID + "[institutions.sla]\ninquiry = { }\n"))


def test_the_workers_poll_interval(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, VALID)).worker.poll_interval == 0.5
    quick = load_settings(write(tmp_path, VALID + "\n[worker]\npoll_interval = 0.1\n"))
    assert quick.worker.poll_interval == 0.1
    with pytest.raises(ConfigurationError, match=r"worker\.poll_interval"):
        load_settings(write(tmp_path, VALID + "\n[worker]\npoll_interval = 0.01\n"))
