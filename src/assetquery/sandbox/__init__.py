"""Simulated registries: a real-estate registry, a housing fund centre and two banks.

The sandbox is an ASGI app that behaves like the institutions assetquery talks to, each in
its own wire format, over fictional data: in process through ``httpx.ASGITransport`` (the
library's embedded default) or over HTTP with :func:`serve`. Its knobs
(:class:`SandboxConfig`) add latency, faults and token checks; :func:`dataset` gives the
fictional parties, tagged by the messy cases they show, so tests can find one::

    party = dataset().find("co_owned")[0]
"""

from ._app import create_app
from ._config import InstitutionProfile, SandboxConfig
from ._data import (
    TAGS,
    BankAccount,
    Control,
    Dataset,
    FundAccount,
    Mortgage,
    RealEstateUnit,
    SandboxParty,
    UnitOwner,
)
from ._generate import dataset
from ._institutions import institutions, institutions_toml
from ._server import serve

__all__ = [
    "TAGS",
    "BankAccount",
    "Control",
    "Dataset",
    "FundAccount",
    "InstitutionProfile",
    "Mortgage",
    "RealEstateUnit",
    "SandboxConfig",
    "SandboxParty",
    "UnitOwner",
    "create_app",
    "dataset",
    "institutions",
    "institutions_toml",
    "serve",
]
