"""What every simulated institution shares on the wire: faults acted out, and its clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime

from starlette.responses import PlainTextResponse, Response

from .._time import SHANGHAI
from ._faults import Decision, Fault

__all__ = ["respond", "respond_applying", "shanghai_now", "shanghai_today"]

# What a proxy in front of an institution sends when the service behind it is gone; also
# not well-formed XML (unclosed elements), so it is garbage to every adapter.
_GARBAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>\r\n"
)


def shanghai_now() -> datetime:
    """Institutions stamp their answers with Beijing time."""
    return datetime.now(SHANGHAI)


def shanghai_today() -> date:
    """Today's date in Beijing: the day institutions date their controls with."""
    return shanghai_now().date()


async def respond(
    decision: Decision,
    answer: Callable[[], Response],
    busy: Callable[[], Response] | None = None,
) -> Response:
    """Wait as decided, then answer: with the fault, or with ``answer()``.

    ``answer`` is only called when the institution gets to handle the request, so its side
    effects (a ticket issued) happen only then. ``busy`` builds the institution's own busy
    answer, where it has one.
    """
    if decision.delay > 0:
        await asyncio.sleep(decision.delay)
    match decision.fault:
        case Fault.BUSY:
            if decision.busy_code and busy is not None:
                return busy()
            return PlainTextResponse("Service Unavailable", 503, headers={"Retry-After": "1"})
        case Fault.THROTTLE:
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "2"})
        case Fault.ERROR:
            return PlainTextResponse("Internal Server Error", 500)
        case Fault.MALFORMED:
            return _garbled(answer(), truncate=decision.truncate)
        case _:  # no fault, or a timeout that has been waited out
            return answer()


async def respond_applying(
    decision: Decision,
    handle: Callable[[], tuple[Response, bool]],
    busy: Callable[[], Response] | None = None,
) -> Response:
    """Like :func:`respond`, for a control submission: ``handle()`` applies the action and
    returns its answer and whether it applied anything new.

    Busy, throttled and failed requests apply nothing. With :attr:`Fault.APPLY_THEN_TIMEOUT`
    the action is applied at once and the answer then hangs for ``decision.hang_after``
    seconds; a client that gives up first never learns the outcome. A duplicate (nothing
    new applied) is answered without the hang.
    """
    if decision.fault is not Fault.APPLY_THEN_TIMEOUT:
        return await respond(decision, lambda: handle()[0], busy)
    if decision.delay > 0:
        await asyncio.sleep(decision.delay)
    response, applied = handle()
    if applied and decision.hang_after > 0:
        await asyncio.sleep(decision.hang_after)
    return response


def _garbled(response: Response, *, truncate: bool) -> Response:
    """The answer cut in half, or an unrelated page: HTTP 200 with the usual content type."""
    body = bytes(response.body)
    content = body[: len(body) // 2] if truncate else _GARBAGE
    content_type = response.headers.get("content-type", "application/octet-stream")
    return Response(content, status_code=200, headers={"content-type": content_type})
