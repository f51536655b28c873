"""Hand-written clients to compare assetquery with: what a competent developer writes alone.

Each speaks the sandbox institutions' wire formats straight from their interface documents
(the docstrings of ``assetquery.adapters._realestate``, ``_housing_fund`` and ``_bank``),
sends the same requests assetquery sends, parses the bodies and keeps the numbers a court
needs (how many assets, what balance) — no models, no retries, no audit trail.

* :mod:`.wire` — the request bodies and the answer parsing, shared by the clients;
* :mod:`.httpx_client` — one ``httpx.AsyncClient``, ``asyncio.gather`` under semaphores;
* :mod:`.aiohttp_client` — the same with one raw ``aiohttp.ClientSession``;
* :mod:`.naive` — a sequential fan-out: each party's institutions one after another.
"""
