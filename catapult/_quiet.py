"""Import noisy modules without their C++ log lines reaching stderr.

``import neural_tangents`` imports TensorFlow, which prints registration notices to file
descriptor 2 that no Python setting silences. A chapter that writes to stderr fails the
build (its page would show the noise), so modules that need neural-tangents import it here.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType


def import_quietly(name: str) -> ModuleType:
    """``importlib.import_module(name)`` with file descriptor 2 sent to /dev/null meanwhile."""
    if name in sys.modules:
        return sys.modules[name]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        module = importlib.import_module(name)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return module
