"""Configuration: one TOML file lists the institutions; the environment overrides.

Secrets never live in the file. A token is named by the environment variable (``token_env``)
or the file (``token_file``) that holds it; client certificates are paths. An inline
``token`` or ``password`` is refused with a message saying what to do instead.

Environment variables ``ASSETQUERY_<KEY>`` override top-level keys (``ASSETQUERY_COURT``,
``ASSETQUERY_OPERATOR``, ``ASSETQUERY_STORE``) and, with ``__`` as separator, nested ones
(``ASSETQUERY_LOOKUP__DEADLINE=30``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ._errors import ConfigurationError
from ._identifiers import parse_case_number
from .rules._pack import SLA_OPERATIONS, SlaRule

__all__ = [
    "AccessSettings",
    "AuthSettings",
    "BreakerSettings",
    "InstitutionSettings",
    "LookupSettings",
    "NotifySettings",
    "RenewalSettings",
    "RetrySettings",
    "Settings",
    "WorkerSettings",
    "load_settings",
]

_INLINE_SECRETS = ("token", "password", "secret", "api_key", "apikey", "key_password")
# An institution id worth echoing in an error: it is what the operator wrote as an id.
_SAFE_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class RetrySettings(_Section):
    """Retries of inquiries on retryable failures: exponential backoff with jitter."""

    attempts: int = Field(default=3, ge=1, le=10, description="total tries, the first included")
    initial: float = Field(default=0.5, gt=0, description="first backoff, seconds")
    max: float = Field(default=8.0, gt=0, description="longest backoff, seconds")
    jitter: float = Field(default=0.5, ge=0, description="random extra of up to this, seconds")


def _refuse_inline_secrets(data: Any, prefix: str) -> None:
    """Refuse a secret written into the configuration, saying where it belongs instead."""
    if not isinstance(data, Mapping):
        return
    for key in data:
        if str(key).lower() in _INLINE_SECRETS:
            raise ValueError(
                f"{prefix}{key}: inline secrets are not accepted in the configuration; "
                "put the secret in an environment variable and name it with "
                "auth.token_env (or keep it in a file named by auth.token_file)"
            )


class AuthSettings(_Section):
    """How to authenticate to an institution. Only references to secrets, never secrets."""

    token_env: str | None = Field(
        default=None, description="environment variable holding the token"
    )
    token_file: Path | None = Field(default=None, description="file holding the token")
    header: str = "Authorization"
    scheme: str = "Bearer"
    client_cert: Path | None = Field(default=None, description="PEM client certificate (mTLS)")
    client_key: Path | None = Field(default=None, description="PEM private key of the certificate")
    ca_bundle: Path | None = Field(default=None, description="CA bundle to verify the server with")
    verify_tls: bool = Field(
        default=True, description="turn off only for a test system; a warning is logged"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        _refuse_inline_secrets(data, "auth.")
        return data

    @model_validator(mode="after")
    def _one_token_source(self) -> Self:
        if self.token_env and self.token_file:
            raise ValueError("auth: give token_env or token_file, not both")
        if self.client_key and not self.client_cert:
            raise ValueError("auth.client_key needs auth.client_cert")
        return self

    def token(self) -> SecretStr | None:
        """Read the token from where the configuration says it is."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                raise ConfigurationError(
                    f"auth.token_env names {self.token_env}, but that environment variable "
                    "is not set"
                )
            return SecretStr(value.strip())
        if self.token_file:
            try:
                return SecretStr(self.token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigurationError(
                    f"auth.token_file {self.token_file} cannot be read: {exc.strerror}"
                ) from None
        return None


class BreakerSettings(_Section):
    """When to stop asking an institution that keeps failing, and for how long."""

    failures: int = Field(
        default=5, ge=1, description="consecutive failed requests that open the circuit"
    )
    cool_down: float = Field(
        default=30.0, gt=0, description="seconds before one trial request is let through"
    )


class AccessSettings(_Section):
    """Who may ask. Absent lists allow anyone; present ones are enforced on every request."""

    operators: frozenset[str] | None = Field(default=None, description="operators allowed")
    courts: frozenset[str] | None = Field(default=None, description="courts allowed")

    @field_validator("operators", "courts")
    @classmethod
    def _not_empty(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        if value is not None and not value:
            raise ValueError("an empty allow-list would refuse everyone; leave the key out")
        return value


class InstitutionSettings(_Section):
    """One institution: who it is, which adapter speaks to it, and how hard to push it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="short stable id")
    name: str = Field(min_length=1)
    adapter: str = Field(
        min_length=1, description="adapter name: realestate, housing_fund, bank, ..."
    )
    base_url: str
    enabled: bool = True
    timeout: float = Field(default=10.0, gt=0, description="seconds per HTTP request")
    concurrency: int = Field(default=10, ge=1, le=1000, description="requests in flight at most")
    rate_limit: float | None = Field(default=None, gt=0, description="requests per second at most")
    poll_interval: float = Field(
        default=5.0, gt=0, description="seconds between polls when the institution gives no hint"
    )
    transport: Literal["aiohttp", "httpx", "http2"] = Field(
        default="aiohttp",
        description="aiohttp's (measured fastest), httpx's own, or httpx's HTTP/2",
    )
    keepalive_expiry: float = Field(
        default=4.0, ge=0, description="close idle connections before the server does, seconds"
    )
    max_response_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="larger answers are refused unread"
    )
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    auth: AuthSettings = AuthSettings()
    sla: dict[str, SlaRule] = Field(
        default_factory=dict,
        description="deadlines per operation, over the rule pack's defaults for the adapter",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="adapter-specific settings")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        # A token written on the institution itself gets the same advice as one under auth,
        # not "Extra inputs are not permitted".
        _refuse_inline_secrets(data, "")
        return data

    @field_validator("sla")
    @classmethod
    def _sla_operations(cls, value: dict[str, SlaRule]) -> dict[str, SlaRule]:
        unknown = sorted(set(value) - SLA_OPERATIONS)
        if unknown:
            raise ValueError(
                f"unknown operation(s) {', '.join(unknown)}; "
                f"use {', '.join(sorted(SLA_OPERATIONS))}"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or url[-3:] == "://":
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return url


class LookupSettings(_Section):
    deadline: float = Field(
        default=60.0,
        gt=0,
        description="seconds a lookup waits for all institutions, polls included",
    )
    window: int | None = Field(
        default=None, ge=1, description="parties in flight in lookup_many (default: from caps)"
    )


class WorkerSettings(_Section):
    """How the durable worker cuts and shares the work (docs/worker.md)."""

    slots: int = Field(
        default=4,
        ge=1,
        le=256,
        description="units of institution work running at once across all workers together; "
        "each unit gets 1/slots of every institution's concurrency and rate limit",
    )
    chunk_size: int = Field(
        default=100, ge=1, le=10_000, description="parties per durable unit of a job"
    )
    poll_interval: float = Field(
        default=0.5,
        ge=0.05,
        le=60.0,
        description="seconds between a worker's looks at the engine's queues for work: each "
        "look is a query on the engine's database, and a unit of work that waits for a slot "
        "starts up to this long after the slot is free",
    )
    answer_grace: float = Field(
        default=86_400.0,
        ge=0,
        description="seconds past an answer's SLA deadline before it is given up as overdue",
    )


class RenewalSettings(_Section):
    """Which controls the worker renews by itself before they lapse (off unless named).

    A court may renew a control on its own motion; whether it does so without a clerk is
    the court's choice, so nothing is renewed automatically unless ``auto`` is set or its
    court or case is listed. Controls not covered get a renewal warning instead.
    """

    auto: bool = Field(default=False, description="renew every court's controls automatically")
    courts: frozenset[str] = Field(
        default=frozenset(), description="courts whose controls are renewed automatically"
    )
    cases: frozenset[str] = Field(
        default=frozenset(), description="case numbers whose controls are renewed automatically"
    )
    operator: str | None = Field(
        default=None,
        description="who the automatic renewal is recorded as (default: who asked for the control)",
    )

    @field_validator("cases")
    @classmethod
    def _canonical_cases(cls, value: frozenset[str]) -> frozenset[str]:
        # Any accepted spelling (half-width brackets, 執) names the same case.
        return frozenset(str(parse_case_number(v, field="renewal.cases")) for v in value)


class NotifySettings(_Section):
    """Where warnings and overdue events are sent, besides the log (docs/worker.md)."""

    webhook: str | None = Field(
        default=None, description="http(s) URL each notice is POSTed to as JSON"
    )
    webhook_token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="environment variable holding a bearer token for the webhook",
    )
    entry_point: str | None = Field(
        default=None,
        description="name of a callable in the assetquery.notifiers entry-point group",
    )

    @field_validator("webhook")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


class Settings(BaseSettings):
    """Everything a dispatcher needs. Build with ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix="ASSETQUERY_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    court: str | None = Field(default=None, description="default court for requests that name none")
    operator: str | None = Field(default=None, description="default operator")
    store: str = Field(default="sqlite:///assetquery.db", description="database URL")
    rules: Path | None = Field(
        default=None, description="a rule pack TOML file instead of the packaged China pack"
    )
    calendar: tuple[Path, ...] = Field(
        default=(), description="announced holiday schedules: TOML files or folders of them"
    )
    lookup: LookupSettings = LookupSettings()
    access: AccessSettings = AccessSettings()
    worker: WorkerSettings = WorkerSettings()
    renewal: RenewalSettings = RenewalSettings()
    notify: NotifySettings = NotifySettings()
    institutions: tuple[InstitutionSettings, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init values; the environment wins over them.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for institution in self.institutions:
            if institution.id in seen:
                raise ValueError(f"institution id {institution.id!r} is used twice")
            seen.add(institution.id)
        return self

    @property
    def enabled_institutions(self) -> tuple[InstitutionSettings, ...]:
        return tuple(i for i in self.institutions if i.enabled)


def _location(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """``("institutions", 1, "timeout")`` → ``institutions[1] (icbc).timeout``."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                ident = node.get("id") if isinstance(node, Mapping) else None
                if isinstance(ident, str) and _SAFE_ID.fullmatch(ident):
                    label += f" ({ident})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts) or "(top level)"


def _inline_secrets(value: object, path: str) -> list[str]:
    """Where secret-named keys sit anywhere below ``path`` (adapter options included)."""
    found = []
    if isinstance(value, Mapping):
        for key, inner in value.items():
            here = f"{path}.{key}"
            if str(key).lower() in _INLINE_SECRETS:
                found.append(here)
            found += _inline_secrets(inner, here)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _inline_secrets(inner, f"{path}[{index}]")
    return found


def settings_from_mapping(data: Mapping[str, Any], source: str = "configuration") -> Settings:
    """Validate configuration data; errors name the source, the key and the problem."""
    private = sorted(str(k) for k in data if not isinstance(k, str) or k.startswith("_"))
    if private:
        # pydantic-settings would take these as its own arguments (where to read the
        # environment from, command-line parsing): a file must never steer those.
        raise ConfigurationError(f"{source} is not valid:\n  {', '.join(private)}: unknown key(s)")
    institutions = data.get("institutions")
    secrets = []
    for index, entry in enumerate(institutions if isinstance(institutions, list) else []):
        if isinstance(entry, Mapping) and "options" in entry:
            secrets += _inline_secrets(entry["options"], f"institutions[{index}].options")
    if secrets:
        raise ConfigurationError(
            f"{source} is not valid:\n  {', '.join(secrets)}: inline secrets are not accepted "
            "in the configuration; put the secret in an environment variable and name it "
            "with auth.token_env (or keep it in a file named by auth.token_file)"
        )
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"  {_location(error['loc'], data)}: {message}")
        raise ConfigurationError(f"{source} is not valid:\n" + "\n".join(problems)) from None


_RELATIVE_PATHS = ("client_cert", "client_key", "ca_bundle", "token_file")


def _anchor_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative paths in a configuration file mean: relative to that file's folder."""

    def anchored(value: object) -> object:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(folder / value)
        return value

    if "rules" in data:
        data["rules"] = anchored(data["rules"])
    if isinstance(data.get("calendar"), list):
        data["calendar"] = [anchored(v) for v in data["calendar"]]
    institutions = data.get("institutions")
    for institution in institutions if isinstance(institutions, list) else []:
        auth = institution.get("auth") if isinstance(institution, dict) else None
        if isinstance(auth, dict):
            for key in _RELATIVE_PATHS:
                if key in auth:
                    auth[key] = anchored(auth[key])
    return data


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate an institutions TOML file (the environment overrides it).

    Relative paths in it (rule pack, holiday schedules, TLS and token files) are taken
    relative to the file's own folder.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigurationError(f"{file}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file}: is not valid TOML ({exc})") from None
    except (RecursionError, ValueError):
        raise ConfigurationError(
            f"{file}: is not usable TOML (nested too deeply, or a number too long)"
        ) from None
    return settings_from_mapping(_anchor_paths(data, file.parent), str(file))
