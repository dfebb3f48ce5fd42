"""Gradient checking for the engine's ops and for users' own functions."""

from . import strategies
from .gradcheck import GradcheckError, gradcheck, vjp_check

__all__ = ["GradcheckError", "gradcheck", "vjp_check", "strategies"]
