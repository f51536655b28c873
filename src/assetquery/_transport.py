"""One HTTP client per institution: its base URL, credentials, TLS, pool and transport.

Each institution gets its own pool, sized to its concurrency cap, so that requests never
queue for a connection (and never hit the pool timeout) and one slow institution cannot
starve another. The API is httpx everywhere; the transport underneath is a per-institution
choice: httpx's own, HTTP/2 (``h2``), or aiohttp's through ``httpx-aiohttp``.
"""

from __future__ import annotations

import ssl
from importlib.metadata import PackageNotFoundError, version

import httpx

from ._config import InstitutionSettings
from ._errors import ConfigurationError
from ._logging import get_logger

__all__ = ["build_client"]

log = get_logger("assetquery.transport")

try:
    _USER_AGENT = f"assetquery/{version('assetquery')}"
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    _USER_AGENT = "assetquery"


def _tls_context(settings: InstitutionSettings) -> ssl.SSLContext | bool:
    auth = settings.auth
    if not auth.verify_tls:
        log.warning(
            "TLS verification is off for this institution; use only against a test system",
            institution=settings.id,
        )
        return False
    if not (auth.client_cert or auth.ca_bundle):
        return True
    try:
        context = ssl.create_default_context(cafile=str(auth.ca_bundle) if auth.ca_bundle else None)
        if auth.client_cert:
            context.load_cert_chain(
                str(auth.client_cert), str(auth.client_key) if auth.client_key else None
            )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"institution {settings.id}: TLS files cannot be loaded ({exc})"
        ) from None
    return context


def _transport(
    settings: InstitutionSettings, verify: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    if settings.transport == "aiohttp":
        try:
            from httpx_aiohttp import AiohttpTransport
        except ImportError:
            raise ConfigurationError(
                f"institution {settings.id}: transport 'aiohttp' needs the aiohttp extra "
                "(pip install 'assetquery[aiohttp]')"
            ) from None
        transport: httpx.AsyncBaseTransport = AiohttpTransport(verify=verify, limits=limits)
        return transport
    http2 = settings.transport == "http2"
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                f"institution {settings.id}: transport 'http2' needs the http2 extra "
                "(pip install 'assetquery[http2]')"
            ) from None
    return httpx.AsyncHTTPTransport(verify=verify, limits=limits, http2=http2)


def build_client(
    settings: InstitutionSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The client for one institution. ``transport`` replaces the network (sandbox, tests)."""
    headers = {"user-agent": _USER_AGENT}
    token = settings.auth.token()
    if token is not None:
        scheme = settings.auth.scheme.strip()
        secret = token.get_secret_value()
        headers[settings.auth.header] = f"{scheme} {secret}" if scheme else secret
    if transport is None:
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
            keepalive_expiry=settings.keepalive_expiry,
        )
        transport = _transport(settings, _tls_context(settings), limits)
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers=headers,
        timeout=httpx.Timeout(settings.timeout),
        transport=transport,
        follow_redirects=False,
    )
