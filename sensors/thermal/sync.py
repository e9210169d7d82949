"""Clock-sync traits of the IR camera: its activity is the mean temperature per frame (the default
for image streams), and temperature lags the arc (thermal inertia, plus glare at once), so it is
fitted as the lagged response of the other stream's level instead of being correlated with it."""

#: What of the other stream this sensor follows: a non-negative mix of first-order lags of its level.
FOLLOWS = "lagged level"
