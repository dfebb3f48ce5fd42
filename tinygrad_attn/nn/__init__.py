"""Layers on the engine: Module/Parameter, basic layers, recurrent cells, attention, Transformer."""

from .attention import SCORES, Attention, Score, causal_mask, masked_softmax, padding_mask, register_score
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, detach_state
from .seq2seq import AttentionSeq2Seq, Seq2Seq, Transformer
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
    "Seq2Seq",
    "AttentionSeq2Seq",
    "Transformer",
]
