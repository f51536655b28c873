"""The control half of the conformance kit: freeze, seal, deduct, renew, release and status.

A control action must never be applied twice, and a court must always be able to find out
whether one was applied. So an adapter that declares control operations must:

* send the action's idempotency key with every submission and status query;
* read a status query for a key the institution never received as ``unknown``;
* answer the same action sent twice (same key) with its status, and refuse a key used for a
  *different* action with ``idempotency_conflict``;
* after an ambiguous failure (a timeout, a connection lost mid-answer, a gateway error),
  raise a typed error that is not a refusal, having sent the submission exactly once: the
  ledger then asks ``control_status``, and never resends;
* refuse operations it does not declare, without sending anything.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from .._errors import AdapterError, InstitutionRejected
from .._models import Operation
from .._money import Money
from ..adapters import Adapter, ControlRequest, ControlState, ControlStatus
from ._inquiry import (
    _base_url_of,
    _client,
    _fail,
    _is_unmocked,
    _KitSubject,
    _personal_data_in,
    _skip,
    sample_case,
)

if TYPE_CHECKING:
    import pytest
    from respx import MockRouter, Router

__all__ = ["CONTROL_OPERATIONS", "ControlConformance", "run_control_status", "run_submit"]

#: the operations that change an asset's state at an institution
CONTROL_OPERATIONS = (
    Operation.FREEZE,
    Operation.SEAL,
    Operation.DEDUCT,
    Operation.RENEW,
    Operation.RELEASE,
)

# What an operation on an existing control needs besides the asset.
_NEEDS_AMOUNT = frozenset({Operation.FREEZE, Operation.DEDUCT})
_NEEDS_TARGET = frozenset({Operation.DEDUCT, Operation.RENEW, Operation.RELEASE})
_NEEDS_END = frozenset({Operation.FREEZE, Operation.SEAL, Operation.RENEW})


def _raising(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("simulated by the conformance kit", request=request)

    return fail


#: Failures after which nobody knows whether the institution applied the action.
_AMBIGUOUS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "read_timeout": _raising(httpx.ReadTimeout),
    "connection_closed_mid_answer": _raising(httpx.RemoteProtocolError),
    "gateway_timeout_504": lambda request: httpx.Response(504, text="Gateway Timeout"),
    "bad_gateway_502": lambda request: httpx.Response(502, text="Bad Gateway"),
}


def run_submit(
    adapter: Adapter, request: ControlRequest, router: Router, *, base_url: str | None = None
) -> ControlStatus:
    """Run ``adapter.submit`` once against ``router`` (see ``run_inquiry``)."""
    url = _base_url_of(router, base_url)

    async def submit() -> ControlStatus:
        async with _client(router, url) as client:
            return await adapter.submit(client, request)

    return asyncio.run(submit())


def run_control_status(
    adapter: Adapter, request: ControlRequest, router: Router, *, base_url: str | None = None
) -> ControlStatus:
    """Run ``adapter.control_status`` once against ``router`` (see ``run_inquiry``)."""
    url = _base_url_of(router, base_url)

    async def status() -> ControlStatus:
        async with _client(router, url) as client:
            return await adapter.control_status(client, request)

    return asyncio.run(status())


def _carries(call: Any, key: str) -> bool:
    """Whether a recorded request carries ``key`` in its URL, a header or its body."""
    sent: httpx.Request = call.request
    needle = key.encode()
    return (
        key in str(sent.url)
        or any(needle in value for _, value in sent.headers.raw)
        or needle in sent.content
    )


class ControlConformance(_KitSubject):
    """Base class of an adapter's control-action conformance tests; subclass it as ``Test…``.

    Set ``adapter_class`` (and ``base_url``, ``institution`` as for
    ``AdapterConformance``; a class may inherit both), and implement
    ``mock_submit``, ``mock_status`` and ``mock_status_unknown``. The optional
    ``mock_duplicate`` and ``mock_conflict`` add the key-reuse checks. The checks
    run once for every control operation the adapter declares in ``capabilities``; override
    ``control_request`` where the institution needs other values than the samples.
    """

    #: the institution's own identifier of the asset acted on
    asset_identifier: ClassVar[str] = "conformance-asset-0001"
    #: the institution's reference of the control a deduction, renewal or release acts on
    control_target: ClassVar[str] = "conformance-control-0001"

    # --- hooks ----------------------------------------------------------------------------

    def control_request(self, operation: Operation) -> ControlRequest:
        """The request every check of ``operation`` sends (override for other values)."""
        kinds = sorted(self._adapter_class().asset_kinds) or ["asset"]
        case = self.case or sample_case()
        if not case.enforcement_document:
            case = case.model_copy(update={"enforcement_document": "（2024）甘0191执1234号之一"})
        return ControlRequest(
            operation=operation,
            idempotency_key=f"conformance-{operation.value}-0001",
            party=self._party(),
            case=case,
            asset_kind=kinds[0],
            asset_identifier=self.asset_identifier,
            amount=Money("50000.00") if operation in _NEEDS_AMOUNT else None,
            target=self.control_target if operation in _NEEDS_TARGET else None,
            ends_on=date(2026, 3, 9) if operation in _NEEDS_END else None,
        )

    def mock_submit(self, router: MockRouter, request: ControlRequest) -> None:
        """Register the institution's acceptance of ``request`` (received, or in force)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement mock_submit(router, request)"
        )

    def mock_status(self, router: MockRouter, request: ControlRequest) -> None:
        """Register the institution's answer to a status query for ``request``'s key, as
        it stands once the action was received."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement mock_status(router, request)"
        )

    def mock_status_unknown(self, router: MockRouter, request: ControlRequest) -> None:
        """Register the answer to a status query for a key the institution never received."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement mock_status_unknown(router, request)"
        )

    def mock_duplicate(self, router: MockRouter, request: ControlRequest) -> None:
        """Register the answer to ``request`` sent a second time (same key, same action).

        Optional: without it the check is skipped.
        """
        _skip("no mock_duplicate hook: the same action sent twice is not checked")

    def mock_conflict(self, router: MockRouter, request: ControlRequest) -> None:
        """Register the answer to ``request`` whose key was already used for another action.

        Optional: without it the check is skipped.
        """
        _skip("no mock_conflict hook: a key used for another action is not checked")

    # --- parametrization ------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Give the checks their operations and failures (pytest calls this per test)."""
        parent = getattr(super(), "pytest_generate_tests", None)
        if parent is not None:  # the inquiry half, mixed in after this one
            parent(metafunc)
        declared = self._declared()
        cases: dict[str, list[Any]] = {
            "control_operation": [op.value for op in CONTROL_OPERATIONS if op in declared],
            "undeclared_operation": [op.value for op in CONTROL_OPERATIONS if op not in declared],
            "ambiguous_failure": list(_AMBIGUOUS),
        }
        import pytest

        for argument, values in cases.items():
            if argument not in metafunc.fixturenames:
                continue
            if values:
                metafunc.parametrize(argument, values, ids=[str(v) for v in values])
            else:
                reason = f"the adapter declares no operation for {argument.replace('_', ' ')}"
                skip = pytest.mark.skip(reason=reason)
                metafunc.parametrize(argument, [pytest.param(None, marks=skip, id="none")])

    # --- building blocks ------------------------------------------------------------------

    def _declared(self) -> frozenset[Operation]:
        capabilities: frozenset[Operation] = self._adapter_class().capabilities
        return frozenset(capabilities)

    def _request_for(self, operation: str) -> ControlRequest:
        request = self.control_request(Operation(operation))
        assert request.operation is Operation(operation), (
            f"control_request({operation!r}) built a {request.operation.value} request"
        )
        return request

    def _status(
        self,
        hook: Callable[[MockRouter, ControlRequest], None],
        run: Callable[[Adapter, ControlRequest, Router], ControlStatus],
        request: ControlRequest,
    ) -> tuple[ControlStatus, list[Any]]:
        """Run ``run`` with the routes ``hook`` registers; the status and the calls made."""
        adapter = self._adapter()
        with self._mock() as router:
            hook(router, request)
            try:
                status = run(adapter, request, router)
            except Exception as exc:  # the kit judges whatever escapes the adapter
                if _is_unmocked(exc):
                    _fail(f"the adapter sent a request that {hook.__name__}() did not route", exc)
                _fail(
                    f"with the institution answering as {hook.__name__}() mocks, the adapter "
                    f"raised {type(exc).__name__}: {exc}",
                    exc,
                )
            calls = list(router.calls)
        if not isinstance(status, ControlStatus):
            _fail(
                f"{hook.__name__}: the adapter returned {type(status).__name__}, "
                "not a ControlStatus"
            )
        return status, calls

    def _submit(self, adapter: Adapter, request: ControlRequest, router: Router) -> ControlStatus:
        return run_submit(adapter, request, router, base_url=self.base_url)

    def _query(self, adapter: Adapter, request: ControlRequest, router: Router) -> ControlStatus:
        return run_control_status(adapter, request, router, base_url=self.base_url)

    def _assert_key_sent(self, calls: list[Any], request: ControlRequest, what: str) -> None:
        assert calls, f"{what}: the adapter sent no request"
        missing = [i for i, call in enumerate(calls) if not _carries(call, request.idempotency_key)]
        assert not missing, (
            f"{what}: request(s) {missing} do not carry the idempotency key "
            f"{request.idempotency_key!r} (in the URL, a header or the body); without it "
            "the institution cannot tell a resend from a new action"
        )

    def _judge_error(self, error: Exception, situation: str) -> AdapterError:
        if not isinstance(error, AdapterError):
            _fail(
                f"{situation}: the adapter let {type(error).__name__} escape ({error}); "
                "adapters report trouble only with AdapterError subclasses",
                error,
            )
        leaked = _personal_data_in(error, self._party())
        if leaked is not None:
            _fail(f"{situation}: the error message contains {leaked}", error)
        return error

    # --- declarations ---------------------------------------------------------------------

    def test_control_capabilities_match_the_adapter(self) -> None:
        """Declared controls come with a status query and real submit/status methods."""
        adapter_class = self._adapter_class()
        declared = self._declared()
        controls = [op.value for op in CONTROL_OPERATIONS if op in declared]
        if not controls:
            _skip("the adapter declares no control operation")
        assert Operation.STATUS in declared, (
            f"{adapter_class.__name__} declares {', '.join(controls)} but not Operation.STATUS: "
            "after an ambiguous failure the ledger must be able to ask where an action stands"
        )
        for method in ("submit", "control_status"):
            own = inspect.getattr_static(adapter_class, method)
            assert own is not inspect.getattr_static(Adapter, method), (
                f"{adapter_class.__name__} declares control operations but does not "
                f"implement {method}()"
            )

    def test_undeclared_operation_is_refused_unsent(self, undeclared_operation: str) -> None:
        """An operation not in ``capabilities`` is refused before anything is sent."""
        request = self._request_for(undeclared_operation)
        adapter = self._adapter()
        with self._mock() as router:
            try:
                status = run_submit(adapter, request, router, base_url=self.base_url)
            except InstitutionRejected:
                status = None
            except Exception as exc:
                self._judge_error(exc, f"{undeclared_operation} (undeclared) submitted")
                _fail(
                    f"{undeclared_operation} is not declared, so submit() must raise "
                    f"InstitutionRejected; it raised {type(exc).__name__}",
                    exc,
                )
            sent = len(router.calls)
        assert status is None, (
            f"{undeclared_operation} is not in capabilities, yet submit() answered "
            f"{status.state.value if status else '?'}: declare it, or refuse it"
        )
        assert sent == 0, f"{undeclared_operation} (undeclared) sent {sent} request(s)"

    # --- the contract, per declared operation ---------------------------------------------

    def test_submission_carries_the_key(self, control_operation: str) -> None:
        """A submission sends the idempotency key once and reads the acceptance."""
        request = self._request_for(control_operation)
        status, calls = self._status(self.mock_submit, self._submit, request)
        self._assert_key_sent(calls, request, f"{control_operation} submitted")
        assert len(calls) == 1, (
            f"{control_operation} submitted: the adapter sent {len(calls)} requests; a "
            "submission is one request (a status query is the ledger's to ask)"
        )
        assert status.state in {
            ControlState.RECEIVED,
            ControlState.EFFECTIVE,
            ControlState.WAITING,
        }, (
            f"{control_operation} accepted as mock_submit() says, but the adapter answered "
            f"{status.state.value}"
        )

    def test_status_query_carries_the_key(self, control_operation: str) -> None:
        """A status query asks by the idempotency key and reads where the action stands."""
        request = self._request_for(control_operation)
        status, calls = self._status(self.mock_status, self._query, request)
        self._assert_key_sent(calls, request, f"status of a {control_operation}")
        assert status.state is not ControlState.UNKNOWN, (
            f"the institution knows this {control_operation} (mock_status), but the adapter "
            "answered unknown"
        )

    def test_unknown_key_reads_unknown(self) -> None:
        """A key the institution never received reads ``unknown``: send again, same key."""
        declared = [op for op in CONTROL_OPERATIONS if op in self._declared()]
        if not declared:
            _skip("the adapter declares no control operation")
        request = self._request_for(declared[0].value)
        status, calls = self._status(self.mock_status_unknown, self._query, request)
        self._assert_key_sent(calls, request, "status of an unknown key")
        assert status.state is ControlState.UNKNOWN, (
            f"the institution never received the key, but the adapter answered "
            f"{status.state.value}: the ledger would think the action exists"
        )

    def test_ambiguous_failure_is_not_resent(
        self, control_operation: str, ambiguous_failure: str
    ) -> None:
        """After an ambiguous failure the submission was sent once, the error is not a
        refusal, and the status query that follows is answered."""
        request = self._request_for(control_operation)
        situation = f"{control_operation} submitted, {ambiguous_failure.replace('_', ' ')}"
        adapter = self._adapter()
        with self._mock() as router:
            self.mock_submit(router, request)
            for route in router.routes:
                route.mock(side_effect=_AMBIGUOUS[ambiguous_failure])
            try:
                answered = run_submit(adapter, request, router, base_url=self.base_url)
            except Exception as exc:
                error = self._judge_error(exc, situation)
            else:
                _fail(
                    f"{situation}: the adapter answered {answered.state.value} although it "
                    "never got an answer"
                )
            sent = len(router.calls)
        assert sent == 1, (
            f"{situation}: the adapter sent the submission {sent} times. A control action is "
            "never resent blindly: raise, and let the ledger ask control_status()"
        )
        assert not isinstance(error, InstitutionRejected), (
            f"{situation}: the adapter raised InstitutionRejected, which tells the ledger "
            "nothing was applied; nobody knows that after an ambiguous failure"
        )
        # What the ledger does next: ask, by the same key.
        status, calls = self._status(self.mock_status, self._query, request)
        self._assert_key_sent(calls, request, f"{situation}, then its status asked")
        assert status.state is not ControlState.UNKNOWN

    def test_same_action_sent_twice_is_one_action(self, control_operation: str) -> None:
        """The same key and action sent again is answered with the action's status."""
        request = self._request_for(control_operation)
        status, calls = self._status(self.mock_duplicate, self._submit, request)
        self._assert_key_sent(calls, request, f"{control_operation} sent a second time")
        assert status.state not in {ControlState.REJECTED, ControlState.UNKNOWN}, (
            f"the institution already holds this {control_operation} (mock_duplicate), but "
            f"the adapter answered {status.state.value}"
        )

    def test_key_used_for_another_action_is_refused(self, control_operation: str) -> None:
        """A key the institution holds for a different action raises idempotency_conflict."""
        request = self._request_for(control_operation)
        adapter = self._adapter()
        situation = f"{control_operation} with a key used for another action"
        with self._mock() as router:
            self.mock_conflict(router, request)
            try:
                answered = run_submit(adapter, request, router, base_url=self.base_url)
            except Exception as exc:
                error = self._judge_error(exc, situation)
            else:
                _fail(
                    f"{situation}: the adapter answered {answered.state.value}; raise "
                    "idempotency_conflict(...) from assetquery.adapters"
                )
        conflict = isinstance(error, InstitutionRejected) and error.code == "idempotency_conflict"
        if not conflict:
            _fail(
                f"{situation}: the adapter raised {type(error).__name__} (code {error.code!r}); "
                "raise idempotency_conflict(...) from assetquery.adapters"
            )
