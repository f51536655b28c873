"""A batch killed at any moment and resumed holds every party exactly once.

The batch runs as a real child process against a sandbox server with some latency, so that
it is still working when the test kills it: with SIGKILL at seeded random points (no
clean-up at all), and with SIGTERM (the graceful stop).
"""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetquery.sandbox import SandboxProcess, dataset

pytestmark = [pytest.mark.loopback, pytest.mark.slow]

PARTIES = 80


@pytest.fixture(scope="module")
def slow_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(
        tmp_path_factory.mktemp("slow-sandbox"),
        *("--latency", "0.02", "--feedback-delay", "0", "--poll-after", "0"),
    ) as server:
        yield server


def write_parties(path: Path) -> list[str]:
    parties = dataset().parties[:PARTIES]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "id_number", "case_number", "operator"])
        writer.writerows([p.name, p.id_number, p.case_number, "李承办"] for p in parties)
    return [p.id_number for p in parties]


def batch(source: Path, output: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assetquery",
            "batch",
            str(source),
            "-o",
            str(output),
            "--config",
            str(config),
            "--window",
            "4",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(output: Path, process: subprocess.Popen[str], lines: int) -> None:
    """Block until ``output`` holds at least ``lines`` newlines (or the batch ends)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and output.read_bytes().count(b"\n") >= lines:
            return
        time.sleep(0.005)  # waiting on another process, not simulating time


def ids_in(output: Path) -> Counter[str]:
    return Counter(
        json.loads(line)["party"]["id_number"]
        for line in output.read_text(encoding="utf-8").splitlines()
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_then_resume_gives_each_party_exactly_once(
    tmp_path: Path, slow_sandbox: SandboxProcess, seed: int
) -> None:
    rng = random.Random(seed)
    source, output = tmp_path / "parties.csv", tmp_path / "reports.jsonl"
    expected = write_parties(source)

    killed_after = []
    for attempt in range(2):  # killed twice, at random points
        process = batch(source, output, slow_sandbox.config, *(["--resume"] if attempt else []))
        target = rng.randint(1, PARTIES - 10) if attempt == 0 else killed_after[0] + 5
        wait_for_lines(output, process, target)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_after.append(ids_in_safely(output))

    assert killed_after[0] < PARTIES  # the kills really came mid-batch
    finish = batch(source, output, slow_sandbox.config, "--resume")
    _, stderr = finish.communicate(timeout=120)
    assert finish.returncode == 0, stderr

    counts = ids_in(output)
    assert set(counts) == set(expected)
    assert max(counts.values()) == 1
    assert output.read_bytes().endswith(b"\n")


def ids_in_safely(output: Path) -> int:
    """Complete lines so far (a SIGKILL may have left half a line at the end)."""
    return output.read_bytes().count(b"\n") if output.exists() else 0


def test_sigterm_stops_taking_rows_and_writes_what_is_in_flight(
    tmp_path: Path, slow_sandbox: SandboxProcess
) -> None:
    source, output = tmp_path / "parties.csv", tmp_path / "reports.jsonl"
    expected = write_parties(source)

    process = batch(source, output, slow_sandbox.config)
    wait_for_lines(output, process, 10)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)

    assert process.returncode == 130  # stopped early, as after Ctrl-C
    assert "Interrupted" in stdout and "--resume" in stdout
    written = output.read_bytes()
    assert written.endswith(b"\n")  # nothing half-written: in-flight lookups were finished
    done = ids_in(output)
    assert 10 <= len(done) < PARTIES

    finish = batch(source, output, slow_sandbox.config, "--resume")
    finish.communicate(timeout=120)
    counts = ids_in(output)
    assert set(counts) == set(expected)
    assert max(counts.values()) == 1
