"""Models assembled from values that need no validation, for the paths that make thousands.

pydantic validates every field of every model made the usual way, and ``model_construct``
still walks every field looking for aliases and defaults. A lookup makes results, totals,
sums of money and a report from values this library made or already validated; for those,
:func:`assembled` sets what ``model_construct`` would set, and nothing else.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["assembled"]

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__  # the models are frozen: their own __setattr__ refuses


def assembled(cls: type[M], fields: dict[str, Any]) -> M:
    """A ``cls`` holding ``fields``: a value for every field, and no other.

    Only for models with no aliases, no ``extra`` values kept and no ``model_post_init``;
    a missing or unknown field is a bug in the caller, and is refused.
    """
    if fields.keys() != cls.__pydantic_fields__.keys():
        given, known = set(fields), set(cls.__pydantic_fields__)
        raise TypeError(
            f"{cls.__name__} assembled with missing fields {sorted(known - given)} "
            f"and unknown fields {sorted(given - known)}"
        )
    model = cls.__new__(cls)
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
