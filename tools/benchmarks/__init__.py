"""The sub-benchmarks of ``weldfusion bench`` (one module each: ``data``, ``model``, ``stream``,
``baselines``, ``ingest``), each exposing ``add_arguments(parser)`` (optional) and
``run(args) -> list[dict(name, value, unit)]``; :mod:`.timing` is their shared timing harness and
:mod:`.machine` describes the machine a run was measured on."""
