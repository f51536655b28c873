"""assetquery: asset inquiry orchestration for court enforcement.

One party lookup goes out to every configured institution at once (real-estate registry,
housing provident fund centre, banks); the answers come back as one ``LookupReport``.

Everything importable from here is the public API; modules with a leading underscore are
internal. Adapter authors also use ``assetquery.adapters`` and ``assetquery.testing``.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ._config import Settings, load_settings
from ._errors import (
    AdapterError,
    AssetqueryError,
    ConfigurationError,
    InvalidInput,
    RefusedRequest,
)
from ._identifiers import CaseNumber, parse_case_number
from ._logging import configure_logging, mask_personal_data
from ._lookup._dispatcher import Dispatcher, use_embedded_default
from ._lookup._sync import lookup
from ._models import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    Case,
    Coverage,
    Encumbrance,
    EncumbranceKind,
    ErrorInfo,
    InstitutionResult,
    KindTotal,
    LookupReport,
    LookupRequest,
    Owner,
    Party,
    PartyKind,
    Provenance,
    ResultStatus,
)
from ._money import Money
from .adapters import Adapter


def _sandbox_dispatcher(*args: Any, **kwargs: Any) -> Dispatcher:
    # The simulated registries load only when first asked for (Starlette and the fictional
    # data stay out of a court's production process).
    from .sandbox import sandbox_dispatcher

    return sandbox_dispatcher(*args, **kwargs)


use_embedded_default(_sandbox_dispatcher)

try:
    __version__ = version("assetquery")
except PackageNotFoundError:  # pragma: no cover - an uninstalled source checkout
    __version__ = "0.0.0"

__all__ = [
    "Adapter",
    "AdapterError",
    "AssetKind",
    "AssetRecord",
    "AssetStatus",
    "AssetqueryError",
    "Case",
    "CaseNumber",
    "ConfigurationError",
    "Coverage",
    "Dispatcher",
    "Encumbrance",
    "EncumbranceKind",
    "ErrorInfo",
    "InstitutionResult",
    "InvalidInput",
    "KindTotal",
    "LookupReport",
    "LookupRequest",
    "Money",
    "Owner",
    "Party",
    "PartyKind",
    "Provenance",
    "RefusedRequest",
    "ResultStatus",
    "Settings",
    "__version__",
    "configure_logging",
    "load_settings",
    "lookup",
    "mask_personal_data",
    "parse_case_number",
]
