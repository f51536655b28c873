"""Shared fixtures for the built-in adapters' unit tests: a mocked institution and a client."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from assetquery._models import Case, Party
from assetquery.adapters import InquiryRequest
from assetquery.testing import sample_case, sample_organization, sample_person

BASE_URL = "https://institution.test"
# Loading the CA bundle for every client costs more than a test; respx answers before TLS.
_TLS = ssl.create_default_context()


@pytest.fixture
def party() -> Party:
    return sample_person()


@pytest.fixture
def organization() -> Party:
    return sample_organization()


@pytest.fixture
def case() -> Case:
    return sample_case()


@pytest.fixture
def inquiry(party: Party, case: Case) -> InquiryRequest:
    return InquiryRequest(party=party, case=case, request_id="req-0001")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """The institution, mocked: every route registered must be requested."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as mocked:
        yield mocked


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A client pointed at the institution, as the dispatcher hands it to an adapter."""
    async with httpx.AsyncClient(base_url=BASE_URL, verify=_TLS) as http:
        yield http
