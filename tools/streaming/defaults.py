"""Defaults of the live decisions, shared by ``stream``, ``predict``, ``evaluate``/``compare``'s
weld-level metrics and the benchmarks (numbers only: importing this loads nothing heavy).

- :data:`HOP_S`: seconds between windows.
- :data:`N_ON`, :data:`M_OFF`: hops above ``p_on`` to open an alarm / below ``p_off`` to close it
  (n_on 3 chosen on the demo's validation welds, README "Weld-level results").
- :data:`P_OFF_RATIO`: ``p_off`` as this share of ``p_on``.
- :data:`BACKENDS`: the inference paths ``stream --backend`` offers.
"""

HOP_S = 0.1
N_ON, M_OFF = 3, 3
P_OFF_RATIO = 0.75

#: ``stream --backend`` choices; ``auto`` = the fastest that passes the parity check
#: (:func:`~weldfusion.tools.streaming.build.build_backend`).
BACKENDS = ("auto", "eager", "torchscript", "onnx")
