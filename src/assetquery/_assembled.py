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

#: every field's name, per model class: the "fields set" of each model assembled from it
_ALL_SET: dict[type[BaseModel], set[str]] = {}


def assembled(cls: type[M], fields: dict[str, Any]) -> M:
    """A ``cls`` holding ``fields``: a value for every field, and no other.

    Only for frozen models with no aliases, no ``extra`` values kept and no
    ``model_post_init``; a missing or unknown field is a bug in the caller, and is refused.

    Every model of a class shares one set of field names as its ``model_fields_set``
    (it holds every field, as a model given every field has). pydantic changes that set in
    place only when a field is assigned, which a frozen model refuses, and copies it
    before ``model_copy`` adds to it. One set per model would be one more object for the
    garbage collector to track, for each of the thousands a batch makes.
    """
    everything = _ALL_SET.get(cls)
    if everything is None:
        if not cls.model_config.get("frozen"):
            raise TypeError(f"{cls.__name__} is not frozen: its models cannot be assembled")
        everything = _ALL_SET[cls] = set(cls.__pydantic_fields__)
    if fields.keys() != everything:
        given = set(fields)
        raise TypeError(
            f"{cls.__name__} assembled with missing fields {sorted(everything - given)} "
            f"and unknown fields {sorted(given - everything)}"
        )
    model = cls.__new__(cls)
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", everything)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
