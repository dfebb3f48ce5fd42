"""Gradient checking for the engine's ops and for users' own functions."""

import importlib

from . import properties
from .eps_scan import EpsScan, eps_scan
from .error import GradcheckError
from .gradcheck import gradcheck
from .graph import GraphReport, NodeCheck, check_graph, check_node
from .layers import check_layer, check_vjp
from .numeric import step_for, tolerances_for
from .properties import PropertyError
from .vjpcheck import vjp_check

__all__ = [
    "EpsScan",
    "GradcheckError",
    "GraphReport",
    "NodeCheck",
    "PropertyError",
    "check_graph",
    "check_layer",
    "check_node",
    "check_vjp",
    "eps_scan",
    "gradcheck",
    "properties",
    "step_for",
    "strategies",
    "tolerances_for",
    "vjp_check",
]


def __getattr__(name):
    # `strategies` imports hypothesis: only on first use, so importing testing stays cheap
    if name == "strategies":
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
