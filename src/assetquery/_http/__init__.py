"""Talking HTTP to institutions: the client each institution gets, and its transport.

``_transport`` builds one pooled httpx client per institution (size cap on answers, mTLS,
authentication, idempotent retries); ``_aiohttp`` is the default transport under httpx's
API. What touches httpx's private attributes lives in ``assetquery._internals`` alone.
"""
