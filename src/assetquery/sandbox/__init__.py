"""Simulated registries: a real-estate registry, a housing fund centre and two banks.

The sandbox is an ASGI app that behaves like the institutions assetquery talks to, each in
its own wire format, over fictional data: in process through ``httpx.ASGITransport`` (the
library's embedded default) or over HTTP with ``serve``. Its knobs
(``SandboxConfig``) add latency, faults and token checks; ``SandboxProcess`` runs
the server in a child process for integration tests; ``dataset`` gives the
fictional parties, tagged by the messy cases they show, so tests can find one::

    party = dataset().find("co_owned")[0]

The institutions also take control actions (freeze, seal, deduct, renew, release) over the
same data, and ``SandboxAdmin`` (``sandbox_admin(app)``, or HTTP under
``/sandbox-admin``) plays the other courts: it releases their controls, disposes of assets
and lists what was applied.
"""

from ._admin import SandboxAdmin, sandbox_admin
from ._app import create_app
from ._config import InstitutionProfile, SandboxConfig
from ._controls import ControlView
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
from ._load import InstitutionLoad
from ._process import SandboxProcess
from ._server import serve
from ._simulation import SimulatedLoop, run_simulated
from ._wiring import sandbox_dispatcher

__all__ = [
    "TAGS",
    "BankAccount",
    "Control",
    "ControlView",
    "Dataset",
    "FundAccount",
    "InstitutionLoad",
    "InstitutionProfile",
    "Mortgage",
    "RealEstateUnit",
    "SandboxAdmin",
    "SandboxConfig",
    "SandboxParty",
    "SandboxProcess",
    "SimulatedLoop",
    "UnitOwner",
    "create_app",
    "dataset",
    "institutions",
    "institutions_toml",
    "run_simulated",
    "sandbox_admin",
    "sandbox_dispatcher",
    "serve",
]
