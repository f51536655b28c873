"""The fan-out engine: one party lookup to every institution at once, one report back.

``_dispatcher`` holds the fan-out; ``_resilience`` the retries, circuit breakers and the
per-institution gate; ``_timeouts`` the deadlines of each exchange; ``_report`` turns the
institutions' answers into a ``LookupReport``; ``_sync`` is the facade for
scripts that do not run an event loop.
"""
