"""The durable worker: the slow half of the job, on the DBOS durable-execution engine.

Run through ``assetquery worker`` (see ``docs/worker.md``). This package is the only code
that imports ``dbos``; the library API never launches the engine (it is a process-wide
singleton), only the worker command does.
"""
