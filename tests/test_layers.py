"""The import direction is a contract (pyproject's [tool.importlinter]), checked here.

The first test holds the package to it. The second proves the contract has teeth: the same
check, run over a copy of the package given one import against the direction, fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "assetquery"
#: installed beside the interpreter running the tests (the dev extra brings it)
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(src: Path, config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the ``assetquery`` package found in ``src``."""
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(src), "PATH": "", "NO_COLOR": "1"},
        check=False,
    )


def test_the_package_keeps_its_layers() -> None:
    run = lint_imports(ROOT / "src", ROOT / "pyproject.toml", ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "back_edge"),
    [
        # the fan-out engine reaching up into the SLA report
        ("_lookup/_report.py", "from ..sla import performance"),
        # the models reaching up into an adapter
        ("_models.py", "from .adapters import load_adapter"),
        # two siblings of one layer leaning on each other
        ("ledger/_planner.py", "from ..sla import render_html"),
    ],
)
def test_an_import_against_the_direction_breaks_the_contract(
    tmp_path: Path, module: str, back_edge: str
) -> None:
    copy = tmp_path / "src" / "assetquery"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{back_edge}  # noqa\n")

    run = lint_imports(tmp_path / "src", ROOT / "pyproject.toml", tmp_path)

    assert run.returncode != 0
    assert "0 kept, 1 broken" in run.stdout
