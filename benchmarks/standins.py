"""Stand-ins for the parts of a lookup the raw aiohttp script does not do, to count each.

``python -m benchmarks.instructions --without PART`` counts assetquery's instructions per
lookup with a part replaced by a stand-in that does (almost) nothing: the difference is
what the part costs. Each stand-in keeps the lookup running and its answers flowing; what
it hands back is wrong in detail (the first report made, over and over), which is why this
lives in the benchmarks and never in the library. The parts:

- ``records``: the adapters read each answer (XML parsed, JSON decoded, codes checked) but
  make no typed records of its assets (``AssetRecord``, ``Money``, owners, encumbrances);
- ``report``: a party's report is not assembled (assets merged, totals, coverage): the
  first one made stands for every other;
- ``results``: an institution's result (times, SLA due date and whether it was met) is not
  made: the first of its kind stands for the rest;
- ``access``: the inquiry is not checked against the case and the allow-lists.

They reach into the library's private modules, as a measurement may; a rename there
fails the test that applies each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["PARTS", "apply"]


def _records() -> Callable[[], None]:
    from assetquery.adapters import InquiryAnswer
    from assetquery.adapters._bank import BankAdapter
    from assetquery.adapters._housing_fund import HousingFundAdapter
    from assetquery.adapters._realestate import RealEstateRegistryAdapter
    from assetquery.adapters._wire import JsonFields, json_body

    def no_units(self: Any, units: Any, request: Any, provenance: Any) -> tuple[()]:
        return ()

    def no_accounts(self: Any, accounts: Any, provenance: Any) -> tuple[()]:
        return ()

    def bank_answer(self: Any, response: Any, ticket: Any = None, hide: Any = ()) -> Any:
        body = JsonFields(json_body(response, self.institution.name))
        body.text("state")
        return InquiryAnswer.found((), reference=body.opt_text("requestId"))

    return _replaced(
        (RealEstateRegistryAdapter, "_units", no_units),
        (HousingFundAdapter, "_accounts", no_accounts),
        (BankAdapter, "_answer", bank_answer),
    )


def _report() -> Callable[[], None]:
    from assetquery._lookup import _dispatcher

    made: list[Any] = []
    build = _dispatcher.build_report

    def first_report(**fields: Any) -> Any:
        if not made:
            made.append(build(**fields))
        return made[0]

    return _replaced((_dispatcher, "build_report", first_report))


def _results() -> Callable[[], None]:
    from assetquery._lookup._exchange import Exchanges

    made: dict[tuple[str, str, int], Any] = {}
    result = Exchanges.result

    def first_result(self: Any, exchange: Any, status: Any, **fields: Any) -> Any:
        key = (exchange.route.settings.id, str(status), len(fields.get("assets", ())))
        if key not in made:
            made[key] = result(self, exchange, status, **fields)
        return made[key]

    return _replaced((Exchanges, "result", first_result))


def _access() -> Callable[[], None]:
    from assetquery._lookup import _dispatcher

    def allowed(case: Any, access: Any) -> None:
        return None

    return _replaced((_dispatcher, "refusal", allowed))


def _replaced(*replacements: tuple[Any, str, Any]) -> Callable[[], None]:
    """Set each attribute; return what puts the originals back."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, stand_in in replacements:
        setattr(owner, name, stand_in)

    def undo() -> None:
        for owner, name, original in originals:
            setattr(owner, name, original)

    return undo


#: every part, by the name ``--without`` takes
PARTS: dict[str, Callable[[], Callable[[], None]]] = {
    "access": _access,
    "records": _records,
    "report": _report,
    "results": _results,
}


def apply(parts: Iterable[str]) -> Callable[[], None]:
    """Put the stand-ins for ``parts`` in place; return what takes them out again."""
    undos = [PARTS[part]() for part in parts]

    def undo() -> None:
        for each in reversed(undos):
            each()

    return undo
