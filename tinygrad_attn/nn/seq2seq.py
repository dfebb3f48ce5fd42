"""Sequence-to-sequence models built from the nn layers: encoder-decoder, peeky, attention, Transformer.

All share one interface (batch-first, integer ids), with one shape of result for every model:

- `forward(src (N, S), tgt_in (N, T)) -> logits (N, T, V)` with teacher forcing;
- `generate(src (N, S), start_id, length) -> ids (N, length)`, greedy, one step at a time;
- `model.attention_weights`: the attention weights of the last `forward` or `generate` call as a
  plain ndarray (N, Tq, S) (Tq = T after forward, = length after generate); always None for
  `Seq2Seq`, which has no attention.

Each model keeps the embedded source of its last forward in `self.src_embedded` (N, S, D), so a
study can call `.retain_grad()` on it and read how much gradient reaches each source position.
"""

from __future__ import annotations

import numpy as np

from .. import autograd, creation
from ..ops.movement import broadcast_to
from ..tensor import Tensor
from .attention import Attention
from .layers import Embedding, LayerNorm, Linear
from .module import Module, ModuleList
from .recurrent import GRU, LSTM, RNN
from .transformer import PositionalEncoding, TransformerDecoderLayer, TransformerEncoderLayer

__all__ = ["Seq2Seq", "AttentionSeq2Seq", "Transformer"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _ids(a, what: str) -> np.ndarray:
    a = np.asarray(a.data if isinstance(a, Tensor) else a)
    if a.ndim != 2 or a.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected integer ids of shape (N, T), got dtype {a.dtype} shape {a.shape}")
    return a


def _repeat_time(h: Tensor, T: int) -> Tensor:
    """(N, H) -> (N, T, H): the same vector at every step (backward sums over T)."""
    return broadcast_to(h.reshape(h.shape[0], 1, h.shape[1]), (h.shape[0], T, h.shape[1]))  # a view, no copy


def _greedy(step, start_id: int, N: int, length: int):
    """Run `step(tokens (N, 1)) -> logits (N, V)` `length` times, feeding back the argmax -> (N, length)."""
    tok = np.full((N, 1), start_id, dtype=np.int64)
    out = np.empty((N, length), dtype=np.int64)
    for t in range(length):
        tok = step(tok).data.argmax(axis=-1).reshape(N, 1)
        out[:, t] = tok[:, 0]
    return out


class _Seq2SeqBase(Module):
    """The attribute every seq2seq model has: the attention weights of its last forward/generate."""

    def __init__(self):
        super().__init__()
        self.attention_weights = None  # ndarray (N, Tq, S) after a call of an attention model

    def _keep_weights(self, weights):
        object.__setattr__(self, "attention_weights", None if weights is None else np.asarray(weights))


class _Recurrent(_Seq2SeqBase):
    """What the two recurrent encoder-decoders share: embeddings, cells, the encoder-to-decoder hand-over."""

    def _build(self, vocab_size, wordvec_size, hidden_size, cell, dec_extra):
        if cell not in _CELLS:
            raise ValueError(f"{type(self).__name__}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        Cell = _CELLS[cell]
        self.cell = cell
        self.hidden_size = hidden_size
        self.src_embed = Embedding(vocab_size, wordvec_size)
        self.encoder = Cell(wordvec_size, hidden_size)
        self.tgt_embed = Embedding(vocab_size, wordvec_size)
        self.decoder = Cell(wordvec_size + dec_extra, hidden_size)

    def _encode(self, src, states: bool = True):
        """src (N, S) -> (encoder states (N, S, H), or None when `states` is False, last hidden state (N, H))."""
        src = _ids(src, f"{type(self).__name__}.forward: src")
        x = self.src_embed(src)
        object.__setattr__(self, "src_embedded", x)  # a plain attribute, never a parameter
        with autograd.scope("encoder"):
            if states:
                hs, state = self.encoder(x)
            else:  # only the last state is needed: no (N, S, H) stack that nothing reads
                hs, state = None, self.encoder.unroll(x)[-1]
        return hs, (state[0] if isinstance(state, tuple) else state)

    def fuse_cells(self, on: bool = True):
        """Run an LSTM encoder and decoder with fused cells (`LSTM(fused=True)`, for training speed) or
        op-level ones (the default, which drawn graphs show); other cells are left as they are. Returns self."""
        for layer in (self.encoder, self.decoder):
            if isinstance(layer, LSTM):
                layer.fused = bool(on)
        return self

    @staticmethod
    def _decoder_state(h):
        """The decoder starts from the encoder's last h (an LSTM's cell state starts at zero)."""
        return h


class Seq2Seq(_Recurrent):
    """Encoder-decoder (book ch. 7): the encoder's last hidden state is the only link to the decoder.

    `cell` is "lstm", "gru" or "rnn". With `peeky=True` (the book's PeekyDecoder) that state is also
    concatenated to the decoder's input at every step and to the input of the output layer.
    """

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=128, cell="lstm", peeky=False):
        super().__init__()
        self.peeky = bool(peeky)
        extra = hidden_size if self.peeky else 0
        self._build(vocab_size, wordvec_size, hidden_size, cell, extra)
        self.out = Linear(hidden_size + extra, vocab_size)

    def _decode(self, tgt_in, h_enc, state):
        x = self.tgt_embed(tgt_in)
        T = x.shape[1]
        if self.peeky:
            x = creation.concat([x, _repeat_time(h_enc, T)], axis=2)
        with autograd.scope("decoder"):
            hs, state = self.decoder(x, state)
        if self.peeky:
            hs = creation.concat([hs, _repeat_time(h_enc, T)], axis=2)
        return self.out(hs), state

    def forward(self, src, tgt_in):
        """src (N, S), tgt_in (N, T) ids -> logits (N, T, V)."""
        _, h = self._encode(src, states=False)
        logits, _ = self._decode(_ids(tgt_in, "Seq2Seq.forward: tgt_in"), h, self._decoder_state(h))
        return logits

    def generate(self, src, start_id, length):
        """Greedy decoding from `start_id`: src (N, S) -> ids (N, length)."""
        with autograd.no_grad():
            _, h = self._encode(src, states=False)
            state = [self._decoder_state(h)]

            def step(tok):
                logits, state[0] = self._decode(tok, h, state[0])
                return logits[:, 0]

            return _greedy(step, start_id, h.shape[0], length)


class AttentionSeq2Seq(_Recurrent):
    """Encoder-decoder with attention, the decoder of the book's figure 8-18.

    At every decoder step the decoder state queries all encoder states (`score` is one of the
    compatibility functions of `Attention`), and the context vector is concatenated with the
    decoder state before the output layer: logits = [context; h_dec] W + b. `max_len` bounds the
    source length for the "location" score (which learns one energy per source position).
    """

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=256, cell="lstm", score="dot", max_len=64):
        super().__init__()
        self._build(vocab_size, wordvec_size, hidden_size, cell, 0)
        self.score = score
        self.attention = Attention(score=score, query_dim=hidden_size, key_dim=hidden_size, max_len=max_len)
        self.out = Linear(2 * hidden_size, vocab_size)

    def _decode(self, tgt_in, enc_hs, state):
        with autograd.scope("decoder"):
            hs, state = self.decoder(self.tgt_embed(tgt_in), state)
        with autograd.scope("attention"):
            context, weights = self.attention(hs, enc_hs, enc_hs)
        return self.out(creation.concat([context, hs], axis=2)), weights, state

    def forward(self, src, tgt_in):
        """src (N, S), tgt_in (N, T) ids -> logits (N, T, V); weights (N, T, S) in `attention_weights`."""
        enc_hs, h = self._encode(src)
        logits, weights, _ = self._decode(
            _ids(tgt_in, "AttentionSeq2Seq.forward: tgt_in"), enc_hs, self._decoder_state(h)
        )
        self._keep_weights(weights.data)
        return logits

    def generate(self, src, start_id, length):
        """Greedy decoding: src (N, S) -> ids (N, length); weights (N, length, S) in `attention_weights`."""
        with autograd.no_grad():
            enc_hs, h = self._encode(src)
            state, ws = [self._decoder_state(h)], []

            def step(tok):
                logits, w, state[0] = self._decode(tok, enc_hs, state[0])
                ws.append(w.data[:, 0])
                return logits[:, 0]

            ids = _greedy(step, start_id, h.shape[0], length)
        self._keep_weights(np.stack(ws, axis=1) if ws else np.zeros((h.shape[0], 0, enc_hs.shape[1])))
        return ids


class Transformer(_Seq2SeqBase):
    """Encoder-decoder Transformer (Vaswani et al. 2017) with the seq2seq interface of this module.

    Token embeddings plus sinusoidal positions; `n_layers` encoder layers over the source, then
    `n_layers` decoder layers (causal self-attention, cross-attention over the encoder output);
    pre-norm by default (`norm_first=True`, with a final LayerNorm on each side), which trains
    reliably without warm-up. `attention_weights` holds the last decoder layer's cross-attention
    weights averaged over heads, (N, T, S).
    """

    def __init__(
        self, vocab_size, d_model=64, n_heads=4, n_layers=2, d_ff=None, dropout=0.0, max_len=128, norm_first=True
    ):
        super().__init__()
        self.d_model = d_model
        self.src_embed = Embedding(vocab_size, d_model, std=1.0)
        self.tgt_embed = Embedding(vocab_size, d_model, std=1.0)
        self.pos = PositionalEncoding(d_model, max_len, dropout)
        layer_args = dict(d_ff=d_ff, dropout=dropout, norm_first=norm_first)
        self.encoder = ModuleList([TransformerEncoderLayer(d_model, n_heads, **layer_args) for _ in range(n_layers)])
        self.decoder = ModuleList([TransformerDecoderLayer(d_model, n_heads, **layer_args) for _ in range(n_layers)])
        self.norm_first = norm_first
        if norm_first:
            self.enc_norm = LayerNorm(d_model)
            self.dec_norm = LayerNorm(d_model)
        self.out = Linear(d_model, vocab_size)

    def _encode(self, src):
        """src (N, S) -> memory (N, S, E)."""
        x = self.src_embed(_ids(src, "Transformer.forward: src"))
        object.__setattr__(self, "src_embedded", x)  # a plain attribute, never a parameter
        with autograd.scope("encoder"):
            x = self.pos(x)
            for layer in self.encoder:
                x = layer(x)
            return self.enc_norm(x) if self.norm_first else x

    def _decode(self, tgt_in, memory):
        with autograd.scope("decoder"):
            x = self.pos(self.tgt_embed(tgt_in))
            for layer in self.decoder:
                x = layer(x, memory)
            if self.norm_first:
                x = self.dec_norm(x)
        return self.out(x), self.decoder[len(self.decoder) - 1].cross_attn_weights.mean(axis=1)

    def forward(self, src, tgt_in):
        """src (N, S), tgt_in (N, T) ids -> logits (N, T, V); cross-attention (N, T, S) in `attention_weights`."""
        logits, weights = self._decode(_ids(tgt_in, "Transformer.forward: tgt_in"), self._encode(src))
        self._keep_weights(weights)
        return logits

    def generate(self, src, start_id, length):
        """Greedy decoding, re-reading the prefix each step: src (N, S) -> ids (N, length); weights (N, length, S)."""
        with autograd.no_grad():
            memory = self._encode(src)
            N, S = memory.shape[0], memory.shape[1]
            prefix = np.full((N, 1), start_id, dtype=np.int64)
            weights = np.zeros((N, 0, S), dtype=memory.dtype)
            for _ in range(length):
                logits, weights = self._decode(prefix, memory)  # causal: row t is what step t saw
                prefix = np.concatenate([prefix, logits.data[:, -1].argmax(-1).reshape(N, 1)], axis=1)
        self._keep_weights(weights)
        return prefix[:, 1:]
