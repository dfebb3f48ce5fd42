"""Checkpoints of `train --save`: the weights plus what is needed to use them again.

The vocabulary, the model's constructor settings and the data layout (question and answer
lengths, reversed input) travel in the checkpoint's JSON metadata (`ta.save(..., metadata=)`,
a uint8 entry of the same .npz: no pickle). `load_model` rebuilds the model from them and
refuses a checkpoint whose vocabulary differs from the one the caller expects.
"""

from __future__ import annotations

FORMAT = "tinygrad-attn seq2seq checkpoint"
VERSION = 1
MODELS = ("seq2seq", "peeky", "attention", "transformer")


def model_settings(kind, vocab_size, src_len, tgt_len, hidden, wordvec=16, cell="lstm", score="dot", heads=4, layers=2):
    """The constructor keywords of model `kind`, as plain JSON-able values."""
    if kind in ("seq2seq", "peeky"):
        return dict(vocab_size=vocab_size, wordvec_size=wordvec, hidden_size=hidden, cell=cell, peeky=kind == "peeky")
    if kind == "attention":
        return dict(
            vocab_size=vocab_size, wordvec_size=wordvec, hidden_size=hidden, cell=cell, score=score, max_len=src_len
        )
    if kind == "transformer":
        return dict(
            vocab_size=vocab_size, d_model=hidden, n_heads=heads, n_layers=layers, max_len=max(src_len, tgt_len)
        )
    raise ValueError(f"model must be one of {MODELS}, got {kind!r}")


def build_model(kind, settings):
    """A fresh model of `kind` from `model_settings(...)`."""
    from .. import nn

    cls = {"seq2seq": nn.Seq2Seq, "peeky": nn.Seq2Seq, "attention": nn.AttentionSeq2Seq, "transformer": nn.Transformer}
    if kind not in cls:
        raise ValueError(f"model must be one of {MODELS}, got {kind!r}")
    return cls[kind](**settings)


def save_checkpoint(path, model, kind, settings, vocab, question_len, answer_len, reverse=False):
    """Write the weights and the metadata `load_model` needs, atomically (ta.save)."""
    from .. import io

    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": kind,
        "settings": settings,
        "vocab": vocab.to_dict(),
        "question_len": int(question_len),
        "answer_len": int(answer_len),
        "reverse": bool(reverse),
    }
    io.save(model.state_dict(), path, metadata=meta)


def load_model(path, vocab=None):
    """(model with the checkpoint's weights, metadata dict with `vocab` as a Vocab); CheckpointError if unusable.

    With `vocab`, the checkpoint's vocabulary must equal it; the error names both and where they differ.
    """
    from .. import io
    from ..data import Vocab

    state, meta = io.read_checkpoint(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise io.CheckpointError(
            f"{path}: no vocabulary or model settings in this checkpoint (plain weights, or written by an "
            f"older `train --save`); train again with `tinygrad-attn train ... --save FILE`"
        )
    if meta.get("version") != VERSION:
        raise io.CheckpointError(f"{path}: checkpoint version {meta.get('version')!r}; this program reads {VERSION}")
    try:
        meta = dict(meta, vocab=Vocab.from_dict(meta["vocab"]))
        model = build_model(meta["model"], meta["settings"])
        for k in ("question_len", "answer_len"):
            if type(meta[k]) is not int or meta[k] < 1:
                raise ValueError(f"{k} must be a positive integer, got {meta[k]!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise io.CheckpointError(f"{path}: malformed model settings ({type(e).__name__}: {e})") from None
    if vocab is not None:
        diff = meta["vocab"].difference(vocab, "the checkpoint", "the data")
        if diff:
            raise io.CheckpointError(f"{path}: vocabulary differs from the data's: {diff}")
    if len(meta["vocab"]) != meta["settings"].get("vocab_size"):
        raise io.CheckpointError(
            f"{path}: the vocabulary has {len(meta['vocab'])} tokens but the model {meta['settings'].get('vocab_size')}"
        )
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise io.CheckpointError(f"{path}: {'; '.join(s.strip() for s in str(e).splitlines())}") from None
    model.eval()
    return model, meta
