"""Gradient checking for the engine's ops and for users' own functions."""

import importlib

from .gradcheck import GradcheckError, gradcheck, vjp_check

__all__ = ["GradcheckError", "gradcheck", "vjp_check", "strategies"]


def __getattr__(name):
    # `strategies` needs hypothesis (a dev dependency): imported on first use only
    if name == "strategies":
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
