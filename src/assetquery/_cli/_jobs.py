"""``assetquery jobs``: batches handed to the worker, and what became of them.

``submit`` checks every row as ``batch`` does, stores the job whole and hands it to the
engine; the workers do the rest. The other commands read the store only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._batch._input import RowDefaults
from .._batch._runner import default_errors_path
from .._batch._submit import submit_job
from .._config import WorkerSettings, load_settings
from .._time import SHANGHAI, utc_now
from ..store import DEFAULT_STORE, Job, JobProgress, Store
from ._common import ConfigOption, CourtOption, OperatorOption, StoreOption, err, fail_cleanly, out

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="Batches run by the worker: submit, follow, cancel, fetch the results.",
    no_args_is_help=True,
)

JobArgument = Annotated[str, typer.Argument(help="The job's id, as submit printed it.")]


@jobs_app.command()
def submit(
    source: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK), XLSX or JSONL file of parties.")
    ],
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="CSV of rejected rows [default: SOURCE.errors.csv]."),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size",
            min=1,
            help="Parties per unit of work [default: worker.chunk_size, 100].",
        ),
    ] = None,
    config: ConfigOption = None,
    court: CourtOption = None,
    operator: OperatorOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Hand a file of parties to the worker; prints the job's id at once."""
    with fail_cleanly():
        settings = load_settings(config) if config is not None else None
        defaults = RowDefaults(
            court=court or (settings.court if settings else None),
            operator=operator or (settings.operator if settings else None),
        )
        worker = settings.worker if settings is not None else WorkerSettings()
        errors_path = errors or default_errors_path(source)
        opened = Store(store)
        try:
            submission = submit_job(
                opened,
                source,
                errors=errors_path,
                defaults=defaults,
                chunk_size=chunk_size or worker.chunk_size,
                at=utc_now(),
            )
        finally:
            opened.close()
        # The engine's client loads only here: the other job commands read the store.
        from ..worker._jobs import enqueue_job

        handed = enqueue_job(store, submission.job.id)
    job = submission.job
    out.print(job.id)
    err.print(f"{job.parties} part{'y' if job.parties == 1 else 'ies'} in {job.chunks} chunk(s).")
    if not handed:
        err.print(
            "No worker has run on this store yet: the first `assetquery worker` started on it "
            "takes the job up."
        )
    if submission.rejected:
        err.print(f"[yellow]{submission.rejected} row(s) rejected[/]: see {submission.errors}")
    err.print(f"Follow it with `assetquery jobs show {job.id} --follow`.")
    raise typer.Exit(submission.exit_code)


def _when(job: Job) -> str:
    return job.submitted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@jobs_app.command("list")
def list_jobs(store: StoreOption = DEFAULT_STORE) -> None:
    """Every job, newest first, with how far it is."""
    with fail_cleanly():
        opened = Store(store)
        try:
            rows = [(job, opened.jobs.progress(job.id)) for job in opened.jobs.find()]
        finally:
            opened.close()
    if not rows:
        out.print("No jobs in the store: `assetquery jobs submit FILE` hands one to the worker.")
        return
    table = Table(title="Jobs", title_justify="left")
    for column in ("job", "submitted", "state", "parties", "looked up", "pending", "failures"):
        table.add_column(column, justify="right" if column[0] in "plf" else "left")
    table.add_column("source")
    for job, progress in rows:
        table.add_row(
            job.id,
            _when(job),
            job.state,
            str(job.parties),
            str(progress.looked_up),
            str(progress.pending),
            str(progress.incomplete + progress.refused),
            Path(job.source).name,
        )
    out.print(table)


def _progress_dict(job: Job, progress: JobProgress) -> dict[str, object]:
    return {
        "job": job.id,
        "state": job.state,
        "source": job.source,
        "submitted_at": job.submitted_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "cancelled_at": job.cancelled_at.isoformat() if job.cancelled_at else None,
        "parties": job.parties,
        "rejected_rows": job.rejected,
        "chunks": job.chunks,
        "looked_up": progress.looked_up,
        "waiting": progress.waiting,
        "complete": progress.complete,
        "pending_answers": progress.pending,
        "incomplete": progress.incomplete,
        "refused": progress.refused,
    }


@jobs_app.command()
def show(
    job_id: JobArgument,
    follow: Annotated[
        bool,
        typer.Option("--follow", help="Watch live until every answer is in (Ctrl-C stops)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """How far a job is: parties looked up, answers still pending, failures."""
    with fail_cleanly():
        opened = Store(store)
        try:
            if follow:
                _follow(opened, job_id)
            job = opened.jobs.get(job_id)
            progress = opened.jobs.progress(job_id)
        finally:
            opened.close()
    if as_json:
        out.print_json(json.dumps(_progress_dict(job, progress)))
        return
    out.print(f"[bold]{job.id}[/] — {job.state}; submitted {_when(job)} from {job.source}")
    out.print(
        f"{progress.looked_up} of {job.parties} parties looked up "
        f"({job.chunks} chunk(s) of {job.chunk_size}); {progress.complete} complete, "
        f"{progress.pending} waiting on a late answer, {progress.incomplete} incomplete, "
        f"{progress.refused} refused."
    )
    if job.rejected:
        out.print(f"{job.rejected} input row(s) were rejected at submission.")
    if progress.settled:
        out.print(f"Results: `assetquery jobs results {job.id} -o FILE`.")


def _follow(store: Store, job_id: str) -> None:
    """A live view until the job is settled or cancelled; Ctrl-C only stops watching."""
    job = store.jobs.get(job_id)
    view = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    try:
        with view:
            looked = view.add_task("looked up", total=job.parties)
            answers = view.add_task("answers in", total=job.parties)
            while True:
                progress = store.jobs.progress(job_id)
                view.update(looked, completed=progress.looked_up)
                view.update(answers, completed=progress.looked_up - progress.pending)
                if progress.settled or store.jobs.get(job_id).state == "cancelled":
                    return
                time.sleep(1.0)
    except KeyboardInterrupt:
        err.print("Stopped watching; the job goes on.")


@jobs_app.command()
def cancel(job_id: JobArgument, store: StoreOption = DEFAULT_STORE) -> None:
    """Stop a job: parties not yet looked up stay so; reports already in are kept."""
    with fail_cleanly():
        opened = Store(store)
        try:
            job = opened.jobs.cancel(job_id, at=utc_now())
            progress = opened.jobs.progress(job_id)
        finally:
            opened.close()
    if job.state == "cancelled":
        out.print(
            f"{job.id} cancelled: {progress.looked_up} of {job.parties} parties were looked up; "
            "chunks in flight stop at their next write."
        )
    else:
        out.print(f"{job.id} had already finished; nothing to cancel.")


@jobs_app.command()
def results(
    job_id: JobArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file for the reports.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """The job's reports, one JSON line each as `batch -o` writes them, latest answers in."""
    with fail_cleanly():
        opened = Store(store)
        try:
            progress = opened.jobs.progress(job_id)
            written = 0
            partial = output.with_name(output.name + ".partial")
            with partial.open("w", encoding="utf-8") as file:
                for report in opened.jobs.results(job_id):
                    file.write(report + "\n")
                    written += 1
            partial.replace(output)
            refusals = opened.jobs.refusals(job_id)
        finally:
            opened.close()
    out.print(f"{written} report(s) written to {output}.")
    if progress.waiting:
        out.print(f"{progress.waiting} part(ies) not looked up yet.")
    if progress.pending:
        out.print(
            f"{progress.pending} report(s) still wait on a late answer; run this again later "
            "for the latest."
        )
    for number, reason in refusals:
        out.print(f"[yellow]line {number}: refused[/]: {reason}")
