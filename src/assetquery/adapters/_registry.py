"""Finding adapters by name: the ``assetquery.adapters`` entry-point group.

The built-in adapters are registered there too (see ``pyproject.toml``), and are also known
here directly so that a source checkout without installed metadata still finds them.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from .._errors import ConfigurationError
from ._base import Adapter

__all__ = ["ENTRY_POINT_GROUP", "available_adapters", "load_adapter"]

ENTRY_POINT_GROUP = "assetquery.adapters"

_BUILTIN = {
    "bank": "assetquery.adapters._bank:BankAdapter",
    "housing_fund": "assetquery.adapters._housing_fund:HousingFundAdapter",
    "realestate": "assetquery.adapters._realestate:RealEstateRegistryAdapter",
}


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_adapters() -> dict[str, str]:
    """Adapter name → ``module:object`` for every adapter that can be loaded."""
    found = dict(_BUILTIN)
    found.update({name: ep.value for name, ep in _entry_points().items()})
    return dict(sorted(found.items()))


@cache
def load_adapter(name: str) -> type[Adapter]:
    """The adapter class registered under ``name``.

    Raises ``ConfigurationError`` naming the known adapters when there is none, or when
    the registered object is not an ``Adapter`` subclass.
    """
    target = available_adapters().get(name)
    if target is None:
        known = ", ".join(available_adapters())
        raise ConfigurationError(
            f"no adapter named {name!r}; installed adapters: {known}. A third-party adapter "
            f"registers under the entry-point group {ENTRY_POINT_GROUP!r}."
        )
    module_name, _, attribute = target.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"adapter {name!r} ({target}) cannot be loaded: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise ConfigurationError(
            f"adapter {name!r} ({target}) is not a subclass of assetquery.adapters.Adapter"
        )
    return obj
