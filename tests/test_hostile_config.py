"""Hostile configuration: institution settings, rule packs and holiday schedules an operator
(or whoever can write the operator's files) gets wrong on purpose.

Fed to ``load_settings`` / ``settings_from_mapping``, ``load_rule_pack`` /
``rule_pack_from_mapping`` and ``load_schedule`` / ``schedule_from_mapping``: arbitrary TOML
documents (hypothesis-generated tables rendered to TOML here, round-trip checked); the valid
configuration, the packaged China rule pack and a valid schedule, each mutated (a value
replaced by one of another TOML type, an unknown key, a negative number, a 2000-item list,
a key removed, an inline secret under ``token``, ``Token``, ``api_key``, ``password``, ...
at any depth); and files that are not TOML at all (any bytes, UTF-16, 100 000-deep nesting).

The property: a valid document loads; anything else raises ``ConfigurationError`` and
nothing else, one error whose message names the source and the offending key (or the table
holding it, e.g. ``institutions[0] (icbc-gs).timeout``), and never contains a secret value:
secret-looking values put under secret-looking keys must not appear in it. An inline secret
is refused wherever it is put.

Every input that once broke a loader is kept below as a regression test with its minimal
example.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from pydantic_settings import BaseSettings

from assetquery import ConfigurationError
from assetquery._config import InstitutionSettings, Settings, load_settings, settings_from_mapping
from assetquery.rules._calendar import load_schedule, schedule_from_mapping
from assetquery.rules._pack import load_rule_pack, rule_pack_from_mapping

from .strategies import SECRET_KEYS, hostile_text, secret_values, time_limit

SECONDS = 5.0
SOURCE = "institutions.toml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module: hypothesis runs many examples per test function."""
    return tmp_path_factory.mktemp("hostile-config")


# --- TOML, rendered by hand -----------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def render(document: Mapping[str, Any]) -> str:
    """``document`` as TOML: one ``key = value`` line per top-level key, tables inline."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in document.items())


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]
)
TOML_SCALARS = st.one_of(
    hostile_text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 10**30, -(10**30), 2**63]),
    st.floats(),
    st.booleans(),
    st.datetimes(timezones=st.none() | OFFSETS),
    st.dates(),
    st.times(),
)
#: keys that mean something somewhere, then anything; pydantic-settings' own constructor
#: arguments (``_env_prefix``, ``_cli_parse_args``, ...) are left to the C3 xfail test
_RESERVED = {p for p in inspect.signature(BaseSettings.__init__).parameters if p.startswith("_")}
TOML_KEYS = st.sampled_from(
    [
        *Settings.model_fields,
        *InstitutionSettings.model_fields,
        "deadline",
        "attempts",
        "token_env",
        "token_file",
        "hours",
        "period",
        "inquiry",
        "max_period",
        "default",
        "sources",
        "year",
        "holidays",
        "workdays",
    ]
) | hostile_text(max_size=10).filter(lambda k: k not in _RESERVED)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TOML_KEYS, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A TOML document of any shape, with secrets under secret keys at any depth.
    Returns the document and the secrets in it."""
    document = draw(st.dictionaries(TOML_KEYS, TOML_VALUES, max_size=6))
    secrets = []
    for _ in range(draw(st.integers(0, 2))):
        tables = list(_tables(document))
        table = draw(st.sampled_from([table for _, table in tables]))
        secret = draw(secret_values())
        table[draw(st.sampled_from(SECRET_KEYS))] = draw(
            st.sampled_from([secret, {"value": secret}, [secret]])
        )
        secrets.append(secret)
    return document, secrets


def _tables(
    value: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every table (dict) in ``value`` with its path, arrays of tables included."""
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _tables(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _tables(child, (*path, index))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value that is not a table."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    else:
        yield path
        if isinstance(value, list):
            for index, child in enumerate(value):
                yield from _leaves(child, (*path, index))


# --- the property ---------------------------------------------------------------------------------


class Violation(AssertionError):
    """The property does not hold."""


def attempt(load: Callable[[], object]) -> object:
    """What ``load`` returned, or the ConfigurationError it raised; anything else is a
    Violation (SystemExit and other BaseExceptions included)."""
    with time_limit(SECONDS, "loading the configuration"):
        try:
            return load()
        except ConfigurationError as error:
            chained = error.__context__ is not None and not error.__suppress_context__
            if error.__cause__ is not None or chained:
                raise Violation("the ConfigurationError chains the error behind it") from error
            return error
        except BaseException as error:
            raise Violation(f"{type(error).__name__} escaped: {error!r}"[:500]) from error


def judge_message(
    error: ConfigurationError, source: str, secrets: list[str], locations: list[str] | None
) -> None:
    """One message: names the source and (when known) the key, and no secret."""
    message = str(error)
    if not message.startswith(source):
        raise Violation(f"the message does not start with the source {source!r}: {message[:200]!r}")
    for secret in secrets:
        if secret in message:
            raise Violation(f"the message shows the secret {secret!r}: {message[:300]!r}")
    if locations is not None and not any(f"\n  {loc}" in message for loc in locations):
        raise Violation(f"no problem names any of {locations}: {message[:400]!r}")


def count(outcome: object) -> None:
    if currently_in_test_context():
        event(f"outcome: {type(outcome).__name__}")


def write(folder: Path, content: bytes, name: str = SOURCE) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


# --- valid starting points ------------------------------------------------------------------------


def valid_configuration() -> dict[str, Any]:
    institution: dict[str, Any] = {
        "id": "icbc-gs",
        "name": "工商银行甘肃省分行",
        "adapter": "bank",
        "base_url": "https://judicial.bank.example/",
        "timeout": 12.5,
        "concurrency": 20,
        "rate_limit": 50,
        "poll_interval": 5,
        # the model's own default, so renaming the transport choices does not break this
        "transport": InstitutionSettings.model_fields["transport"].default,
        "retry": {"attempts": 4, "initial": 0.5, "max": 8.0, "jitter": 0.5},
        "auth": {"token_env": "ICBC_TOKEN", "header": "Authorization", "scheme": "Bearer"},
        "sla": {"inquiry": {"hours": 24}, "seal": {"working_days": 1}},
        "options": {"bank_name": "中国工商银行", "path": "/api/judicial/v2/inquiries"},
    }
    if "breaker" in InstitutionSettings.model_fields:  # under construction elsewhere
        institution["breaker"] = {"failures": 5, "cool_down": 30.0}
    if "max_response_bytes" in InstitutionSettings.model_fields:
        institution["max_response_bytes"] = 1 << 20
    registry = {
        "id": "bdc-lz",
        "name": "兰州市不动产登记中心",
        "adapter": "realestate",
        "base_url": "https://bdc.example",
        "auth": {"token_file": "secrets/bdc.token"},
    }
    configuration: dict[str, Any] = {
        "court": "兰州新区人民法院",
        "operator": "李承办",
        "store": "sqlite:///assetquery.db",
        "rules": "rules/china.toml",
        "calendar": ["holidays"],
        "lookup": {"deadline": 45, "window": 8},
        "institutions": [institution, registry],
    }
    if "access" in Settings.model_fields:
        configuration["access"] = {"operators": ["李承办"], "courts": ["兰州新区人民法院"]}
    return configuration


def china_pack() -> dict[str, Any]:
    raw = resources.files("assetquery.rules").joinpath("china.toml").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))


def valid_schedule() -> dict[str, Any]:
    saturday = next(date(2027, 2, d) for d in range(1, 8) if date(2027, 2, d).weekday() == 5)
    return {
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知",
        "holidays": [date(2027, 1, 1), date(2027, 2, 5), date(2027, 10, 1)],
        "workdays": [saturday],
    }


def test_starting_points_are_valid() -> None:
    """The documents the mutation tests start from load: each failure is the mutation's."""
    settings_from_mapping(valid_configuration())
    rule_pack_from_mapping(china_pack())
    schedule_from_mapping(valid_schedule())


# --- mutations ------------------------------------------------------------------------------------


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def _other_type(value: Any) -> st.SearchStrategy[Any]:
    return TOML_VALUES.filter(lambda new: type(new) is not type(value))


NEGATIVES = st.sampled_from([-1, -0.5, -(2**63), -1e308, -math.inf, -0.0, 0])


@st.composite
def mutations(
    draw: st.DrawFn, base: dict[str, Any]
) -> tuple[dict[str, Any], tuple[Any, ...], str, str | None]:
    """``base`` with one change. Returns the document, the path changed, what was done, and
    the secret put in (if any)."""
    document = copy.deepcopy(base)
    edit = draw(
        st.sampled_from(["retype", "unknown_key", "negative", "huge_list", "delete", "secret"])
    )
    secret = None
    if edit in ("unknown_key", "secret"):
        table_path, table = draw(st.sampled_from(list(_tables(document))))
        if edit == "secret":
            key = draw(st.sampled_from(SECRET_KEYS))
            secret = draw(secret_values())
            table[key] = draw(st.sampled_from([secret, {"value": secret}]))
        else:
            key = draw(TOML_KEYS.filter(lambda k: k not in table))
            table[key] = draw(TOML_VALUES)
        return document, (*table_path, key), edit, secret
    path = draw(st.sampled_from(list(_leaves(document))))
    old = _get(document, path)
    if edit == "retype":
        _set(document, path, draw(_other_type(old)))
    elif edit == "negative":
        _set(document, path, draw(NEGATIVES))
    elif edit == "huge_list":
        item = old[0] if isinstance(old, list) and old else old
        _set(document, path, [copy.deepcopy(item) for _ in range(2000)])
    else:
        parent = _get(document, path[:-1])
        if isinstance(parent, list):
            parent.pop(path[-1])
        else:
            del parent[path[-1]]
    return document, path, edit, secret


def _config_locations(document: Mapping[str, Any], path: tuple[Any, ...]) -> list[str]:
    """Every prefix of ``path`` as ``_config._location`` writes it (``(top level)`` too)."""
    locations = ["(top level)"]
    text = ""
    node: Any = document
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, Mapping) and "id" in node:
                text += f" ({node['id']})"
        else:
            text += f".{step}" if text else step
            node = node.get(step) if isinstance(node, Mapping) else None
        locations.append(text)
    return locations


def _plain_locations(path: tuple[Any, ...]) -> list[str]:
    """Every prefix of ``path`` as the rule pack's and the schedule's ``_location`` write it."""
    locations = ["(top level)"]
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        locations.append(text)
    return locations


def check_mutation(
    load: Callable[[dict[str, Any]], object],
    source: str,
    mutated: tuple[dict[str, Any], tuple[Any, ...], str, str | None],
    locations: Callable[[dict[str, Any], tuple[Any, ...]], list[str]],
) -> None:
    document, path, _, secret = mutated
    outcome = attempt(lambda: load(document))
    count(outcome)
    if isinstance(outcome, ConfigurationError):
        judge_message(outcome, source, [secret] if secret else [], locations(document, path))
    elif secret is not None:
        raise Violation(f"an inline secret at {'.'.join(map(str, path))} was accepted")


RUN = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@RUN
@given(mutated=mutations(valid_configuration()))
def test_mutated_configuration(
    mutated: tuple[dict[str, Any], tuple[Any, ...], str, str | None],
) -> None:
    """The valid configuration with a value of the wrong type, an unknown key, a negative
    number, a 2000-item list, a key removed or an inline secret: it loads (pydantic may
    coerce "20" to 20), or one ConfigurationError names that key or a table holding it and
    never the secret; an inline secret is never accepted."""
    check_mutation(lambda d: settings_from_mapping(d, SOURCE), SOURCE, mutated, _config_locations)


@settings(RUN, max_examples=100)
@given(mutated=mutations(china_pack()))
def test_mutated_rule_pack(
    mutated: tuple[dict[str, Any], tuple[Any, ...], str, str | None],
) -> None:
    """The packaged China rule pack, mutated the same ways: a RulePack, or one
    ConfigurationError naming the key (``max_period.default``) and no secret."""
    check_mutation(
        lambda d: rule_pack_from_mapping(d, "pack.toml"),
        "pack.toml",
        mutated,
        lambda _, path: _plain_locations(path),
    )


@settings(RUN, max_examples=100)
@given(mutated=mutations(valid_schedule()))
def test_mutated_schedule(mutated: tuple[dict[str, Any], tuple[Any, ...], str, str | None]) -> None:
    """A valid holiday schedule, mutated the same ways: a YearSchedule, or one
    ConfigurationError naming the key (``holidays[2]``) and no secret."""
    check_mutation(
        lambda d: schedule_from_mapping(d, "2027.toml"),
        "2027.toml",
        mutated,
        lambda _, path: _plain_locations(path),
    )


LOADERS: dict[str, Callable[[Path], object]] = {
    "settings": load_settings,
    "rule_pack": load_rule_pack,
    "schedule": load_schedule,
}


@settings(RUN, max_examples=120)
@given(generated=documents(), loader=st.sampled_from(sorted(LOADERS)))
def test_arbitrary_toml_documents(
    folder: Path, generated: tuple[dict[str, Any], list[str]], loader: str
) -> None:
    """Any TOML document (any keys, any types, nested tables and arrays, NaN, 2**63,
    offset and local datetimes) with secrets at any depth, through each loader."""
    document, secrets = generated
    text = render(document)
    assert _comparable(tomllib.loads(text)) == _comparable(document), "the renderer is wrong"
    path = write(folder, text.encode())

    def check() -> None:
        outcome = attempt(lambda: LOADERS[loader](path))
        count(outcome)
        if isinstance(outcome, ConfigurationError):
            judge_message(outcome, str(path), secrets, None)

    check()


NOT_TOML = st.one_of(
    st.binary(max_size=300),
    hostile_text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.sampled_from(
        [
            b"\xef\xbb\xbf" + b'court = "x"',
            'court = "x"'.encode("utf-16"),
            'court = "x"'.encode("utf-16-le"),
            'court = "x"'.encode("gbk") + "法院".encode("gbk"),
            b"[[institutions]\nid=",
            b'token = "sk-live-unterminated',
            b"a = 1\na = 2",
            b"[a]\n[a]",
            b"a = 1979-05-27T07:32:00+25:00",
            b"a = 9999-99-99",
            b"a = " + b"1" * 5000,
            b"a = " + b"[" * 400 + b"]" * 400,
        ]
    ),
)


@settings(RUN, max_examples=120)
@given(content=NOT_TOML, loader=st.sampled_from(sorted(LOADERS)))
def test_files_that_are_not_toml(folder: Path, content: bytes, loader: str) -> None:
    """Any bytes, BOMs, UTF-16, GBK, broken and duplicate tables, 5000-digit numbers:
    a ConfigurationError naming the file, and not a word of an unterminated secret."""
    path = write(folder, content)

    def check() -> None:
        outcome = attempt(lambda: LOADERS[loader](path))
        count(outcome)
        if isinstance(outcome, ConfigurationError):
            judge_message(outcome, str(path), ["sk-live-unterminated"], None)

    check()


# --- regressions: the minimal inputs that once broke a loader -------------------------------------

REGRESSION = settings(database=None)
SECRET = "sk-live-0123456789abcdef"


def _load_text(folder: Path, text: str, loader: str = "settings") -> None:
    path = write(folder, text.encode())
    outcome = attempt(lambda: LOADERS[loader](path))
    if isinstance(outcome, ConfigurationError):
        judge_message(outcome, str(path), [SECRET], None)


@REGRESSION
@example(text="institutions = 5")
@example(text="institutions = true")
@example(text="institutions = 2024-01-01")
@given(text=st.just("institutions = 5"))
def test_c1_institutions_not_a_list(folder: Path, text: str) -> None:
    """``institutions`` that is not a list (an int, a bool, a date) is the model's to refuse,
    by key, not a TypeError from path anchoring."""
    _load_text(folder, text)


@REGRESSION
@example(text='rules = "~nosuchuser/pack.toml"')
@example(text='calendar = ["~nosuchuser"]')
@example(text='institutions = [{id = "x", auth = {token_file = "~nosuchuser/token"}}]')
@given(text=st.just('rules = "~nosuchuser/pack.toml"'))
def test_c2_unknown_home_directory(folder: Path, text: str) -> None:
    """A path starting ``~nosuchuser`` is an ordinary relative path, not a RuntimeError from
    ``expanduser()``."""
    _load_text(folder, text)


@REGRESSION
@example(document={"_cli_parse_args": ["--help"]})  # SystemExit: the process exits
@example(document={"_env_prefix": 5})  # TypeError
@example(document={"_build_sources": "x"})  # ValueError
@example(document={"_env_prefix": "ATTACKER_"})  # accepted: the environment is redirected
@example(document={"_secrets_dir": "/etc"})  # accepted
@given(document=st.just({"_cli_parse_args": ["--help"]}))
def test_c3_pydantic_settings_arguments(document: dict[str, Any]) -> None:
    """Top-level keys named like pydantic-settings' constructor arguments (``_cli_parse_args``,
    ``_env_prefix``, ``_secrets_dir``) are refused as unknown keys: a file must not steer
    where the environment is read from, nor exit the process."""

    try:
        outcome = attempt(lambda: settings_from_mapping(document, SOURCE))
    except Violation as violation:  # SystemExit, TypeError, ValueError
        raise Violation(str(violation)) from violation
    if not isinstance(outcome, ConfigurationError):
        raise Violation(f"{sorted(document)} accepted as configuration")


@REGRESSION
@example(
    load="rule_pack", document={**china_pack(), "max_period": {"default": "1y", "token": SECRET}}
)
@example(
    load="rule_pack", document={**china_pack(), "max_period": {"default": {"password": SECRET}}}
)
@example(load="schedule", document={**valid_schedule(), "holidays": [{"token": SECRET}]})
@example(
    load="settings",
    document={"institutions": [{"id": {"api_key": SECRET}, "name": "x"}]},
)
@example(
    load="settings",
    document={
        "institutions": [
            {
                **valid_configuration()["institutions"][0],
                "sla": {"inquiry": {"period": {"token": SECRET}}},
            }
        ]
    },
)
@given(
    load=st.just("rule_pack"),
    document=st.just({**china_pack(), "max_period": {"default": "1y", "token": SECRET}}),
)
def test_c4_values_echoed_into_messages(load: str, document: dict[str, Any]) -> None:
    """Messages name the key and the expected form, never the offending value: a secret
    sitting where a period, a day or an institution id belongs is not printed."""
    sources = {"rule_pack": "pack.toml", "schedule": "2027.toml", "settings": SOURCE}
    loaders: dict[str, Callable[[dict[str, Any], str], object]] = {
        "rule_pack": rule_pack_from_mapping,
        "schedule": schedule_from_mapping,
        "settings": settings_from_mapping,
    }

    def check() -> None:
        outcome = attempt(lambda: loaders[load](document, sources[load]))
        assert isinstance(outcome, ConfigurationError), outcome
        judge_message(outcome, sources[load], [SECRET], None)

    check()


@REGRESSION
@example(key="token")
@example(key="password")
@example(key="api_key")
@given(key=st.just("token"))
def test_c5_inline_secret_in_options(key: str) -> None:
    """An inline secret is refused under an institution's ``options`` table too, with the
    same message as under ``auth``."""
    document = valid_configuration()
    document["institutions"][0]["options"][key] = SECRET
    mutated = (document, ("institutions", 0, "options", key), "secret", SECRET)
    check_mutation(lambda d: settings_from_mapping(d, SOURCE), SOURCE, mutated, _config_locations)


@REGRESSION
@example(loader="settings", text="court = " + "[" * 10_000 + "]" * 10_000)
@example(loader="rule_pack", text="name = " + "{a = " * 10_000 + "1" + "}" * 10_000)
@example(loader="schedule", text="year = " + "1" * 5000)
@given(loader=st.just("settings"), text=st.just("court = " + "[" * 10_000 + "]" * 10_000))
def test_c6_tomllib_errors_other_than_decode_errors(folder: Path, loader: str, text: str) -> None:
    """tomllib's RecursionError (deep nesting) and ValueError (5000-digit integers) become
    "not usable TOML" ConfigurationErrors from every loader."""
    _load_text(folder, text, loader)
