"""A conformance kit for adapter authors: prove an adapter honours the contract in a few lines.

Subclass ``AdapterConformance`` in a test module, say which adapter to test, and register
the institution's real answers in two hooks::

    from assetquery.testing import AdapterConformance

    from assetquery_vehicle import VehicleRegistryAdapter

    FOUND = {...}       # a real "vehicles found" answer, anonymised
    NONE = {...}        # a real "nothing registered" answer

    class TestVehicleConformance(AdapterConformance):
        adapter_class = VehicleRegistryAdapter
        base_url = "https://vehicles.example"

        def mock_found(self, router, party):
            router.post("/vehicles/judicial-query").respond(200, json=FOUND)

        def mock_not_found(self, router, party):
            router.post("/vehicles/judicial-query").respond(200, json=NONE)

pytest then runs the inherited checks:

* the declarations: an ``Adapter`` subclass with a ``name``,
  ``capabilities`` that include inquiry, ``asset_kinds``, and (unless ``check_entry_point`` is
  false) an ``assetquery.adapters`` entry point under its name;
* the found answer: status ok and every record normalized (see ``assert_normalized``);
* the not-found answer: status not_found, no assets;
* error mapping, with no code from the author: every request answered with HTTP 429 (with
  ``Retry-After``), 502, 503, 504 must raise a retryable error; 400, 401, 403, 404
  ``InstitutionRejected``; 500 a non-retryable error; connection
  failures ``InstitutionUnreachable``; timeouts
  ``InstitutionTimeout``; and garbage, empty, truncated or wrongly
  shaped bodies a non-retryable error (ideally ``MalformedResponse``).
  Never a bare ``KeyError`` or ``ValueError``, never an answer, and never the party's ID
  number or name in an error message;
* for institutions that answer with a ticket (optional hooks ``
  mock_pending`` and ``mock_poll_found``): the pending answer, the
  polled answer, and the same error mapping for the poll.

Everything runs in ordinary synchronous tests (``asyncio.run``), so no pytest async plugin is
needed, and nothing leaves the process: requests go to a respx router, never to the network.
The helpers the checks are built from are exported for focused tests of one's own::

    with mock_institution("https://vehicles.example") as router:
        router.post("/vehicles/judicial-query").respond(200, json=FOUND)
        answer = run_inquiry(adapter, request, router)
    for record in answer.assets:
        assert_normalized(record, "vehicles-gs", {"vehicle"})

Control actions have their half, ``ControlConformance``: hooks that register the
institution's acceptance of an action, its status answer and its "no such key" answer, and
checks that the idempotency key is sent and respected, that an ambiguous failure (timeout,
connection lost, gateway error) is raised after exactly one submission and answered by a
status query, never by a resend, and that the declared capabilities are what the adapter
does. A test class may inherit both halves.

For tests of code that reads reports (the freeze planner, say), ``build_report`` makes a
``LookupReport`` from institutions' results or from assets alone, merged,
totalled and held against the claim as a lookup would.

The kit needs `respx <https://lundberg.github.io/respx/>`_ (``pip install respx``); it is
imported when a mock is first built, so the sample helpers work without it.
"""

from ._controls import CONTROL_OPERATIONS, ControlConformance, run_control_status, run_submit
from ._inquiry import (
    AdapterConformance,
    assert_normalized,
    mock_institution,
    run_inquiry,
    run_poll,
    sample_case,
    sample_organization,
    sample_person,
)
from ._reports import build_report

__all__ = [
    "CONTROL_OPERATIONS",
    "AdapterConformance",
    "ControlConformance",
    "assert_normalized",
    "build_report",
    "mock_institution",
    "run_control_status",
    "run_inquiry",
    "run_poll",
    "run_submit",
    "sample_case",
    "sample_organization",
    "sample_person",
]
