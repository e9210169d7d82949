"""Live monitoring: replay -> ring buffers -> window assembly -> model -> refinement -> alarms.

Reading order: ``replay.py`` (packets at native rates) -> ``ring_buffer.py`` (per-modality buffers,
read like a recording) -> ``window_assembler.py`` (the offline dataset's window code) ->
``presence.py`` (sensor timeouts) -> ``engine.py`` (every hop: latest complete window, backend,
Eq. 49, ``alarms.py``) -> ``onnx_export.py`` / ``onnx_backend.py``; ``build.py`` wires a checkpoint
to an engine, ``output.py`` writes rows and the console line for ``weldfusion stream``.
"""
