"""Every exception assetquery raises, in one place, and how they are related.

::

    AssetqueryError
    ├── InvalidInput (ValueError)        a value the caller gave is wrong: field and reason
    ├── BatchInputError                  a batch file as a whole cannot be used
    ├── ConfigurationError               the configuration cannot be used: file and key
    │   └── MissingUvicorn (ImportError) ``sandbox serve`` without the sandbox extra
    ├── RefusedRequest (PermissionError) purpose binding refused it before anything was sent
    ├── IllegalTransition                a control action move the state machine forbids
    ├── OverControl                      a freeze would control more than the claim
    ├── ActionNotFound (KeyError)        no action with that id in the store
    ├── JobNotFound (KeyError)           no job with that id in the store
    ├── ConcurrentUpdate                 another writer kept changing the same action
    └── AdapterError                     an institution gave no usable answer
        ├── RetryableAdapterError        worth asking again
        │   ├── InstitutionUnavailable   429, 502, 503, 504
        │   ├── InstitutionTimeout       no answer in time
        │   └── InstitutionUnreachable   the connection failed
        └── PermanentAdapterError        asking again gives the same answer
            ├── InstitutionRejected      credentials, bad request, not permitted
            ├── InstitutionFailure       the institution's own error
            └── MalformedResponse        an answer of the wrong shape

Callers handle two families above all: ``InvalidInput`` names the field and the reason, so
a batch can report the row and carry on; ``AdapterError`` is what adapters raise, and the
dispatcher retries the ``retryable`` ones and turns the rest into an institution's status:
they never escape a lookup. (The simulated registries raise a few exceptions of their own
inside the sandbox's app; none reaches a caller.)
"""

from __future__ import annotations

__all__ = [
    "ActionNotFound",
    "AdapterError",
    "AssetqueryError",
    "BatchInputError",
    "CaseNotFound",
    "ConcurrentUpdate",
    "ConfigurationError",
    "IllegalTransition",
    "InstitutionFailure",
    "InstitutionRejected",
    "InstitutionTimeout",
    "InstitutionUnavailable",
    "InstitutionUnreachable",
    "InvalidInput",
    "JobNotFound",
    "MalformedResponse",
    "MissingUvicorn",
    "OverControl",
    "PermanentAdapterError",
    "RefusedRequest",
    "RetryableAdapterError",
    "StoreUnavailable",
]


class AssetqueryError(Exception):
    """Base class of every error raised by assetquery."""


class InvalidInput(AssetqueryError, ValueError):
    """A supplied value is invalid. ``field`` names it, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class BatchInputError(AssetqueryError):
    """The batch file as a whole cannot be used; the message says why and what to do."""


class ConfigurationError(AssetqueryError):
    """The configuration cannot be used. The message names the file and the key."""


class StoreUnavailable(ConfigurationError):
    """The store's database could not be reached (or migrated) just now: down, restarting,
    failing over, or refusing the credentials. Worth trying again once it is back."""


class MissingUvicorn(ConfigurationError, ImportError):
    """uvicorn (the ``sandbox`` extra) is not installed: an install problem, said plainly."""


class RefusedRequest(AssetqueryError, PermissionError):
    """A request was refused before anything was sent (missing operator, case, ...)."""


# --- control actions and the store ------------------------------------------------------


class IllegalTransition(AssetqueryError):
    """A move the state machine does not allow; the message names the move and why."""

    def __init__(self, action_id: int, kind: str, current: str, target: str, why: str) -> None:
        self.action_id = action_id
        self.current = current
        self.target = target
        super().__init__(f"{kind} #{action_id}: {current} → {target} is not allowed: {why}")


class OverControl(AssetqueryError):
    """A freeze would push the case's controlled total above the claim (proportionality)."""


class ActionNotFound(AssetqueryError, KeyError):
    """No action with that id in the store."""

    def __str__(self) -> str:
        return str(self.args[0])


class JobNotFound(AssetqueryError, KeyError):
    """No job with that id in the store."""

    def __str__(self) -> str:
        return str(self.args[0])


class CaseNotFound(AssetqueryError, KeyError):
    """The store knows no lookup or action under that case number."""

    def __init__(self, number: str, close: tuple[str, ...] = ()) -> None:
        super().__init__(number, close)
        self.number = number
        #: case numbers the store does know that look like it
        self.close = close

    def __str__(self) -> str:
        hint = (
            f"; did you mean {' or '.join(self.close)}?"
            if self.close
            else "; `assetquery case list` lists the cases it knows"
        )
        return f"no lookup or action under case {self.number} in the store{hint}"


class ConcurrentUpdate(AssetqueryError):
    """Another writer kept changing the action; give up rather than overwrite its work."""


# --- institutions ---------------------------------------------------------------------------


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
