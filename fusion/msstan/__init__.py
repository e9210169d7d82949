"""MS-STAN (He, Jin & Zou 2025, Sections 3.3-3.4): one file per block, assembled in :mod:`.model`.

Feature maps travel between blocks channels-last as f (B, T, h, w, d).
"""

from weldfusion.fusion.msstan.model import MSSTAN

__all__ = ["MSSTAN"]
