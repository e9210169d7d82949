"""Clock-sync traits of sound: its activity is the energy per sample (the default for signals),
binned as RMS; arc sound follows the edges of arc power (p ~ d(U I)/dt), so its level is also
compared with the other stream's edges."""

#: How the per-sample activity is binned onto the envelope grid: root of the mean energy.
BINNED = "rms"
#: What of the other stream this sensor follows: its edges (``edge``), not its level.
FOLLOWS = "edge"
