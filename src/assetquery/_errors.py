"""Every exception assetquery raises, in one place.

Two families matter to callers:

* ``InvalidInput`` (a ``ValueError``): a value the caller supplied is wrong. It names the
  field and the reason, so a batch can report the row and carry on.
* ``AdapterError``: an institution could not answer. Adapters raise these; the dispatcher
  retries the ``retryable`` ones and turns the rest into an institution status. They never
  escape a lookup.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "AssetqueryError",
    "ConfigurationError",
    "InstitutionFailure",
    "InstitutionRejected",
    "InstitutionTimeout",
    "InstitutionUnavailable",
    "InstitutionUnreachable",
    "InvalidInput",
    "MalformedResponse",
    "PermanentAdapterError",
    "RefusedRequest",
    "RetryableAdapterError",
]


class AssetqueryError(Exception):
    """Base class of every error raised by assetquery."""


class InvalidInput(AssetqueryError, ValueError):
    """A supplied value is invalid. ``field`` names it, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ConfigurationError(AssetqueryError):
    """The configuration cannot be used. The message names the file and the key."""


class RefusedRequest(AssetqueryError, PermissionError):
    """A request was refused before anything was sent (missing operator, case, ...)."""


class AdapterError(AssetqueryError):
    """An institution did not give a usable answer.

    ``code`` is a short stable identifier (``"http_503"``, ``"malformed_xml"``, an
    institution's own error code, ...), ``message`` a sentence for people.
    """

    retryable: bool = False
    #: the institution status this error turns into
    status: str = "failed"

    def __init__(self, message: str, *, code: str = "error") -> None:
        self.code = code
        self.message = message
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class RetryableAdapterError(AdapterError):
    """Worth asking again: the institution was busy, slow or unreachable."""

    retryable = True

    def __init__(
        self, message: str, *, code: str = "unavailable", retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        #: seconds the institution asked us to wait (``Retry-After``), if it said
        self.retry_after = retry_after


class PermanentAdapterError(AdapterError):
    """Asking again would give the same answer."""


class InstitutionUnavailable(RetryableAdapterError):
    """HTTP 429, 502, 503 or 504: the institution is overloaded or down for a moment."""


class InstitutionTimeout(RetryableAdapterError):
    """No answer within the institution's timeout."""

    status = "timeout"


class InstitutionUnreachable(RetryableAdapterError):
    """The connection failed (refused, reset, closed mid-answer)."""


class InstitutionRejected(PermanentAdapterError):
    """The institution refused the request: bad credentials, bad request, not permitted."""

    status = "rejected"


class InstitutionFailure(PermanentAdapterError):
    """The institution reported an error of its own (HTTP 500, an error code)."""


class MalformedResponse(PermanentAdapterError):
    """The answer could not be parsed or does not have the institution's documented shape."""
