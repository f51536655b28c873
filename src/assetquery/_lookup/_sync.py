"""The synchronous facade, for scripts and notebooks that do not run an event loop."""

from __future__ import annotations

import asyncio
import os

from .._models import Case, LookupReport, Party
from ._dispatcher import Dispatcher

__all__ = ["lookup"]


def lookup(party: Party, case: Case, config: str | os.PathLike[str] | None = None) -> LookupReport:
    """Look ``party`` up at every institution of ``config`` (default: the sandbox).

    Runs its own event loop; inside async code use ``Dispatcher`` instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "assetquery.lookup() is the synchronous facade and cannot run inside an event "
            "loop; use `async with Dispatcher.from_config(...) as d: await d.lookup(...)`"
        )

    async def run() -> LookupReport:
        async with Dispatcher.from_config(config) as dispatcher:
            return await dispatcher.lookup(party, case)

    return asyncio.run(run())
