"""Look one party up at every institution and print what was found.

    python examples/lookup_party.py                      # the embedded sandbox
    python examples/lookup_party.py institutions.toml    # a real deployment

The party is fictional: one of the sandbox's, with assets of every kind.
"""

from __future__ import annotations

import asyncio
import sys

from assetquery import Case, Dispatcher, Party


async def main(config: str | None) -> None:
    party = Party.person("曹斌", "620111198510119738")
    case = Case(
        number="（2026）甘0103执9456号",
        court="兰州市七里河区人民法院",
        operator="李承办",
        claim="211686.25",
    )
    async with Dispatcher.from_config(config) as dispatcher:
        report = await dispatcher.lookup(party, case)

    for result in report.results:
        problem = f" ({result.error.message})" if result.error else ""
        print(f"{result.name}: {result.status.value}, {len(result.assets)} asset(s){problem}")
    for asset in report.assets:
        free = asset.available.amount if asset.available else "—"
        print(f"  {asset.kind:<13} {asset.institution:<10} {asset.identifier}  available {free}")
    coverage = report.coverage
    print(f"available {coverage.available} of a {case.claim} claim ({coverage.ratio:.1%})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
