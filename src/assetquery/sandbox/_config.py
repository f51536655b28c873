"""The sandbox's knobs: how fast, how flaky and how strict each simulated institution is."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._institutions import INSTITUTIONS

__all__ = ["InstitutionProfile", "SandboxConfig"]

_IDS = tuple(institution.id for institution in INSTITUTIONS)

#: a probability per request
_Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class InstitutionProfile(BaseModel):
    """How one simulated institution behaves. Every fault rate is a probability per request.

    ``latency`` and ``jitter`` delay every answer by ``latency + jitter * U(0, 1)`` seconds.
    Faults, at most one per request, in this order of precedence:

    * ``busy_rate``: HTTP 503 with ``Retry-After: 1``. The registry and the fund centre have
      their own busy code (9001, in an HTTP 200 answer); ``busy_code_share`` is the share of
      their busy answers given that way instead.
    * ``throttle_rate``: HTTP 429 with ``Retry-After: 2``.
    * ``error_rate``: HTTP 500.
    * ``timeout_rate``: hang for ``hang_seconds`` before answering normally.
    * ``malformed_rate``: HTTP 200 with a truncated body or an unrelated page.
    * ``reset_rate``: the connection drops mid-answer: the headers promise the whole body,
      half of it comes, then the connection closes (over HTTP a protocol error; in process,
      where there is no connection, the answer arrives cut short).
    * ``slow_body_rate``: the headers come at once, the body trickles out in pieces over
      ``slow_body_seconds``, longer than a client's timeout allows.
    * ``wrong_content_type_rate``: the real answer under the wrong content type: JSON
      declared ``text/html`` or ``text/plain``, the registry's XML declared ``text/html`` or
      ``application/json``.
    * ``wrong_shape_rate``: well-formed JSON or XML of the wrong shape, as each institution
      plausibly gets it wrong (``"data": null`` with code 0000, a list sent as an object,
      amounts of the wrong type, a gateway's envelope around the answer, ...).
    * ``apply_then_timeout_rate`` (control submissions only): the action *is* applied, then
      the answer hangs ``hang_seconds``, so the client times out not knowing it was applied.
      A repeated submission of an action already applied answers normally (it applies
      nothing). Inquiries and status queries never meet this fault.

    A control submission that meets a busy, throttle or error fault applies nothing; with
    any later fault the action is applied (a timeout's after its hang, over HTTP) and only
    its answer is late or damaged.

    ``feedback_delay`` and ``poll_after_seconds`` apply to an institution that answers with a
    ticket (``bank-west``): seconds until the answer is ready, and the wait it advises.
    ``control_feedback_delay``: seconds (event-loop clock) during which a control action
    just submitted is reported as received (``RECEIVED``) before its outcome shows; 0, the
    default, reports the outcome at once. ``turnaround_spread`` turns both delays into
    medians of a long-tailed (log-normal) distribution, drawn per request: 0 keeps them
    fixed, 0.5 makes some requests take twice the median and more.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: float = Field(default=0.0, ge=0.0)
    jitter: float = Field(default=0.0, ge=0.0)
    busy_rate: _Rate = 0.0
    throttle_rate: _Rate = 0.0
    error_rate: _Rate = 0.0
    timeout_rate: _Rate = 0.0
    malformed_rate: _Rate = 0.0
    reset_rate: _Rate = 0.0
    slow_body_rate: _Rate = 0.0
    wrong_content_type_rate: _Rate = 0.0
    wrong_shape_rate: _Rate = 0.0
    apply_then_timeout_rate: _Rate = 0.0
    hang_seconds: float = Field(default=30.0, ge=0.0)
    slow_body_seconds: float = Field(default=30.0, ge=0.0)
    busy_code_share: _Rate = 0.0
    feedback_delay: float = Field(default=0.5, ge=0.0)
    poll_after_seconds: int = Field(default=1, ge=0)
    control_feedback_delay: float = Field(default=0.0, ge=0.0)
    turnaround_spread: float = Field(default=0.0, ge=0.0, le=3.0)

    @model_validator(mode="after")
    def _rates_fit(self) -> Self:
        total = self.fault_rate + self.apply_then_timeout_rate
        if total > 1.0 + 1e-9:  # a sum of decimal fractions may overshoot 1 a little
            raise ValueError(f"the fault rates add up to {total:g}; at most 1 is possible")
        return self

    @property
    def fault_rate(self) -> float:
        """The probability that a request meets some fault.

        Control submissions may also meet ``apply_then_timeout_rate``, which is not included.
        """
        return (
            self.busy_rate
            + self.throttle_rate
            + self.error_rate
            + self.timeout_rate
            + self.malformed_rate
            + self.reset_rate
            + self.slow_body_rate
            + self.wrong_content_type_rate
            + self.wrong_shape_rate
        )


def _default_profiles() -> dict[str, InstitutionProfile]:
    return {institution_id: InstitutionProfile() for institution_id in _IDS}


class SandboxConfig(BaseModel):
    """Everything the sandbox app can be told. The defaults give a fast, reliable sandbox.

    ``seed`` chooses the fictional data and the fault draws; ``profiles`` holds one
    ``InstitutionProfile`` per institution id (missing ones get the defaults);
    ``require_token``, when set, refuses requests without ``Authorization: Bearer <token>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    profiles: dict[str, InstitutionProfile] = Field(default_factory=_default_profiles)
    require_token: str | None = Field(default=None, min_length=1)

    @field_validator("profiles")
    @classmethod
    def _every_institution(
        cls, profiles: dict[str, InstitutionProfile]
    ) -> dict[str, InstitutionProfile]:
        unknown = sorted(set(profiles) - set(_IDS))
        if unknown:
            raise ValueError(
                f"no sandbox institution {', '.join(unknown)}; the institutions are "
                f"{', '.join(_IDS)}"
            )
        return {i: profiles.get(i, InstitutionProfile()) for i in _IDS}

    @classmethod
    def uniform(
        cls, *, seed: int = 7, require_token: str | None = None, **knobs: float
    ) -> SandboxConfig:
        """The same profile for every institution: ``SandboxConfig.uniform(busy_rate=0.1)``."""
        profile = InstitutionProfile.model_validate(knobs)
        return cls(
            seed=seed,
            profiles=dict.fromkeys(_IDS, profile),
            require_token=require_token,
        )

    @classmethod
    def turnarounds(cls, *, seed: int = 7) -> SandboxConfig:
        """Institutions that take realistic time, for SLA demos on simulated time.

        ``bank-east`` answers within seconds and carries out actions within the hour:
        always on time. ``bank-west`` feeds back after about 20 hours (median; long-tailed),
        against a 24-hour deadline: often late. The registry and the fund centre answer
        inquiries within seconds and carry out actions within hours.
        """
        hour = 3600.0
        profiles = {
            "bank-east": InstitutionProfile(
                latency=0.5,
                jitter=2.0,
                control_feedback_delay=0.5 * hour,
                turnaround_spread=0.5,
            ),
            "bank-west": InstitutionProfile(
                feedback_delay=20 * hour,
                poll_after_seconds=int(hour),
                control_feedback_delay=20 * hour,
                turnaround_spread=0.6,
            ),
            "registry": InstitutionProfile(
                latency=1.0,
                jitter=3.0,
                control_feedback_delay=4 * hour,
                turnaround_spread=0.8,
            ),
            "fund": InstitutionProfile(
                latency=1.0,
                jitter=3.0,
                control_feedback_delay=6 * hour,
                turnaround_spread=0.8,
            ),
        }
        return cls(seed=seed, profiles=profiles)

    def with_profile(self, institution_id: str, **knobs: float) -> SandboxConfig:
        """A copy with some knobs of one institution changed, the others kept."""
        changed = InstitutionProfile.model_validate(
            {**self.profile(institution_id).model_dump(), **knobs}
        )
        return type(self).model_validate(
            {**self.model_dump(), "profiles": {**self.profiles, institution_id: changed}}
        )

    def profile(self, institution_id: str) -> InstitutionProfile:
        """The profile of one institution; a ``KeyError`` names the known ids."""
        try:
            return self.profiles[institution_id]
        except KeyError:
            raise KeyError(
                f"no sandbox institution {institution_id!r}; the institutions are {', '.join(_IDS)}"
            ) from None
