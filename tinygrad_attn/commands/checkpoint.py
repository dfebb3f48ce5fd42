"""Checkpoints of `train --save`: the weights plus what is needed to use them again.

The vocabulary, the model's constructor settings and the data layout (question and answer
lengths, reversed input) travel in the checkpoint's JSON metadata (`ta.save(..., metadata=)`,
a uint8 entry of the same .npz: no pickle). `load_model` rebuilds the model from them and
refuses a checkpoint whose vocabulary differs from the one the caller expects.

The metadata is checked before any model is built (`check_metadata`): the settings must be the
model's own keys with values of the right type, the sizes that shape a weight must agree with the
weights in the file (a `hidden_size` of 60000 over 8-wide weights would allocate 107 GiB), the
lengths must be at most MAX_SEQUENCE, and the vocabulary must be one the encoder can use.
"""

from __future__ import annotations

import re

FORMAT = "tinygrad-attn seq2seq checkpoint"
VERSION = 1
MODELS = ("seq2seq", "peeky", "attention", "transformer")
CELLS = ("gru", "lstm", "rnn")
MAX_SEQUENCE = 10_000  # longest question, answer or max_len a checkpoint may ask for, in tokens


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
    Nothing is built before `check_metadata` has accepted the metadata against the weights.
    """
    from .. import io

    state, meta = io.read_checkpoint(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise io.CheckpointError(
            f"{path}: no vocabulary or model settings in this checkpoint (plain weights, or written by an "
            f"older `train --save`); train again with `tinygrad-attn train ... --save FILE`"
        )
    if meta.get("version") != VERSION:
        raise io.CheckpointError(f"{path}: checkpoint version {meta.get('version')!r}; this program reads {VERSION}")
    try:
        meta = check_metadata(meta, state)
    except (KeyError, TypeError, ValueError) as e:
        raise io.CheckpointError(f"{path}: malformed model settings ({e})") from None
    if vocab is not None:
        diff = meta["vocab"].difference(vocab, "the checkpoint", "the data")
        if diff:
            raise io.CheckpointError(f"{path}: vocabulary differs from the data's: {diff}")
    try:
        model = build_model(meta["model"], meta["settings"])
    except (TypeError, ValueError) as e:  # a check above should have caught it: still one line
        raise io.CheckpointError(f"{path}: malformed model settings ({e})") from None
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise io.CheckpointError(f"{path}: {'; '.join(s.strip() for s in str(e).splitlines())}") from None
    model.eval()
    return model, meta


def check_metadata(meta, state):
    """The metadata with `vocab` as a Vocab, once it is safe to build its model; ValueError naming what is wrong.

    state: {name: ndarray}, the weights of the same checkpoint (only their shapes are read).
    """
    kind = meta.get("model")
    if kind not in MODELS:
        raise ValueError(f"model {kind!r} is not one of {list(MODELS)}")
    settings = meta.get("settings")
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a JSON object, got {_short(settings)}")
    _check_keys(kind, settings)
    for k in ("question_len", "answer_len"):
        _check_length(k, meta.get(k))
    if type(meta.get("reverse")) is not bool:
        raise ValueError(f"reverse must be true or false, got {_short(meta.get('reverse'))}")
    _check_values(kind, settings, meta["question_len"], meta["answer_len"])
    _check_against_weights(kind, settings, state)
    vocab = _vocab(meta.get("vocab"))
    if len(vocab) != settings["vocab_size"]:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model {settings['vocab_size']}")
    return dict(meta, vocab=vocab)


def _short(v, n=60):
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


def _check_keys(kind, settings):
    """Exactly the keywords `model_settings` writes for `kind`: an extra one (d_ff=10**9) would reach the model."""
    want = set(model_settings(kind, 1, 1, 1, 1))
    extra, missing = sorted(set(settings) - want), sorted(want - set(settings))
    if extra:
        raise ValueError(f"settings {extra} are not {kind} settings (expected {sorted(want)})")
    if missing:
        raise ValueError(f"missing settings {missing} for a {kind} model")


def _positive_int(name, v):
    if type(v) is not int or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {_short(v)}")
    return v


def _check_length(name, v):
    if _positive_int(name, v) > MAX_SEQUENCE:
        raise ValueError(f"{name} {v} is over the limit of {MAX_SEQUENCE} tokens")


def _check_values(kind, settings, question_len, answer_len):
    """Types and ranges of the settings that do not show in a weight's shape."""
    from ..nn import SCORES

    for k, v in settings.items():
        if k not in ("cell", "score", "peeky"):
            _positive_int(k, v)
    if "cell" in settings and settings["cell"] not in CELLS:
        raise ValueError(f"cell {_short(settings['cell'])} is not one of {list(CELLS)}")
    if "score" in settings and settings["score"] not in SCORES:
        raise ValueError(f"score {_short(settings['score'])} is not one of {list(SCORES)}")
    if "peeky" in settings and settings["peeky"] is not (kind == "peeky"):
        raise ValueError(f"peeky must be {kind == 'peeky'} for a {kind} model, got {_short(settings['peeky'])}")
    if "max_len" in settings:  # attention: the question's keys; transformer: positions of both sides
        _check_length("max_len", settings["max_len"])
        need = question_len if kind == "attention" else max(question_len, answer_len)
        if settings["max_len"] < need:
            what = "the question" if need == question_len else "the answer"
            raise ValueError(f"max_len {settings['max_len']} is shorter than {what} ({need})")
    if kind == "transformer" and settings["d_model"] % settings["n_heads"]:
        raise ValueError(f"n_heads {settings['n_heads']} does not divide d_model {settings['d_model']}")


def _check_against_weights(kind, settings, state):
    """Every setting that sizes a weight must equal that weight's size in the file: nothing larger gets built."""

    def dim(key, axis):
        a = state.get(key)
        if a is None or a.ndim != 2:
            raise ValueError(f"the weights have no 2-d {key!r} (got {None if a is None else a.shape})")
        return a.shape[axis], f"{key} {a.shape}"

    said = {"vocab_size": dim("src_embed.W", 0)}
    if kind == "transformer":
        said["d_model"] = dim("src_embed.W", 1)
        layers = sorted({int(m.group(1)) for k in state if (m := re.match(r"encoder\.(\d+)\.", k))})
        if layers != list(range(len(layers))):
            raise ValueError(f"the encoder layers in the weights are numbered {layers[:10]}, not 0, 1, 2, ...")
        said["n_layers"] = len(layers), f"encoder.0 to encoder.{len(layers) - 1}"
    else:
        said["wordvec_size"] = dim("src_embed.W", 1)
        said["hidden_size"] = dim("encoder.W_h", 0)
    for k, (n, where) in said.items():
        if settings[k] != n:
            raise ValueError(f"{k}: {settings[k]} in the metadata, but the weights say {n} ({where})")


def _vocab(d):
    """The Vocab of the metadata, refusing tokens the encoder cannot use and a start token it does not hold."""
    from ..data import Vocab

    try:
        vocab = Vocab.from_dict(d)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the vocabulary is malformed ({e})") from None
    for tok in vocab.itos:
        if vocab.level == "char" and len(tok) != 1:
            raise ValueError(f"token {_short(tok)} of a character vocabulary is not one character")
        if vocab.level == "word" and (not tok or len(tok.split()) != 1 or tok.split()[0] != tok):
            raise ValueError(f"token {_short(tok)} of a word vocabulary is not a word (empty or with spaces)")
    if vocab.start not in vocab:  # every answer starts with it: `start_id` would add it past the embedding
        raise ValueError(f"the start token {vocab.start!r} is not in the vocabulary")
    return vocab
