"""``assetquery sandbox``: the simulated registries served over HTTP, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..sandbox import SandboxConfig
from ._common import fail_cleanly

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(
    help="The simulated registries, for demos and tests.", no_args_is_help=True
)


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8765,
    write_config: Annotated[
        Path | None,
        typer.Option("--write-config", help="Write an institutions TOML pointing at this server."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Chooses the fictional data and fault draws.")] = 7,
    latency: Annotated[float, typer.Option(help="Seconds every answer is delayed.")] = 0.0,
    busy_rate: Annotated[float, typer.Option(help="Share of requests answered 503.")] = 0.0,
    throttle_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429 with Retry-After.")
    ] = 0.0,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 500.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of requests that hang.")] = 0.0,
    hang_seconds: Annotated[
        float, typer.Option(help="Seconds a hanging request (or applied action) hangs.")
    ] = 30.0,
    malformed_rate: Annotated[
        float, typer.Option(help="Share of answers truncated or garbled.")
    ] = 0.0,
    reset_rate: Annotated[
        float, typer.Option(help="Share of answers whose connection drops mid-body.")
    ] = 0.0,
    slow_body_rate: Annotated[
        float, typer.Option(help="Share of answers whose body trickles out slowly.")
    ] = 0.0,
    slow_body_seconds: Annotated[
        float, typer.Option(help="Seconds a slow body takes to arrive in full.")
    ] = 30.0,
    wrong_content_type_rate: Annotated[
        float, typer.Option(help="Share of answers declared with the wrong content type.")
    ] = 0.0,
    wrong_shape_rate: Annotated[
        float, typer.Option(help="Share of answers well-formed but of the wrong shape.")
    ] = 0.0,
    feedback_delay: Annotated[
        float, typer.Option(help="Seconds until the ticket bank's answer is ready.")
    ] = 0.5,
    poll_after: Annotated[
        int, typer.Option(help="Seconds the ticket bank asks callers to wait between polls.")
    ] = 1,
    apply_then_timeout_rate: Annotated[
        float,
        typer.Option(help="Share of control actions applied whose answer then never comes."),
    ] = 0.0,
    control_delay: Annotated[
        float,
        typer.Option(help="Seconds a control action shows as received before it is carried out."),
    ] = 0.0,
) -> None:
    """Serve the simulated registries over HTTP (for --config FILE to talk to)."""
    from ..sandbox import serve

    with fail_cleanly():
        config = SandboxConfig.uniform(
            seed=seed,
            latency=latency,
            busy_rate=busy_rate,
            throttle_rate=throttle_rate,
            error_rate=error_rate,
            timeout_rate=timeout_rate,
            hang_seconds=hang_seconds,
            malformed_rate=malformed_rate,
            reset_rate=reset_rate,
            slow_body_rate=slow_body_rate,
            slow_body_seconds=slow_body_seconds,
            wrong_content_type_rate=wrong_content_type_rate,
            wrong_shape_rate=wrong_shape_rate,
            feedback_delay=feedback_delay,
            poll_after_seconds=poll_after,
            apply_then_timeout_rate=apply_then_timeout_rate,
            control_feedback_delay=control_delay,
        )
        serve(host=host, port=port, config=config, write_config=write_config)
