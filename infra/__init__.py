"""Bottom layer every package may use: structured, phone-masking logs and the shared DB base.

It imports no package of this project; `hotline/` (the composition root) imports everything
and nothing imports `hotline/`.
"""
