"""assetquery's benchmarks: ``python -m benchmarks`` (``make bench``).

One module per scenario of the performance issue (``a_in_process`` … ``f_store``), the
hand-written baselines they compare against (:mod:`benchmarks.baselines`), what they look up
(:mod:`benchmarks.workload`), the loopback plumbing (:mod:`benchmarks.loopback`) and the
timing, interleaving, table and JSON (:mod:`benchmarks.harness`). See ``README.md``.
"""
