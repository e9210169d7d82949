"""Set prediction of boxes (DETR-style) for the localisation head of issue 15: Hungarian matching
(:mod:`.matcher`) and the set loss (:mod:`.loss`). Boxes are (cx, cy, w, h) in [0, 1] of the frame."""
