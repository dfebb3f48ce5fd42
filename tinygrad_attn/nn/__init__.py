"""Layers on the engine: Module/Parameter, basic layers, recurrent cells, attention, Transformer."""

import importlib.util

from .attention import SCORES, Attention, Score, causal_mask, masked_softmax, padding_mask, register_score
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, detach_state
from .transformer import (
    FeedForward,
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    sinusoidal_encoding,
)

__all__ = [
    "Module",
    "Parameter",
    "ModuleList",
    "Sequential",
    "Linear",
    "Embedding",
    "LayerNorm",
    "Dropout",
    "RNN",
    "LSTM",
    "GRU",
    "detach_state",
    "Attention",
    "Score",
    "SCORES",
    "register_score",
    "masked_softmax",
    "causal_mask",
    "padding_mask",
    "MultiHeadAttention",
    "PositionalEncoding",
    "sinusoidal_encoding",
    "FeedForward",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
]

# The seq2seq models (seq2seq.py, written alongside, imports the layers above) are exported
# here when the file is present: its __all__, or the three model names of DESIGN.md.
if importlib.util.find_spec(f"{__name__}.seq2seq") is not None:
    from . import seq2seq as _seq2seq

    for _name in getattr(_seq2seq, "__all__", ("Seq2Seq", "AttentionSeq2Seq", "Transformer")):
        if hasattr(_seq2seq, _name):
            globals()[_name] = getattr(_seq2seq, _name)
            __all__.append(_name)
