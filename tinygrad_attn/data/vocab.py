"""A token vocabulary: each character (or whitespace-separated word) gets an integer id in order of first appearance."""

from __future__ import annotations

import numpy as np

PAD = " "  # the book pads questions and answers with spaces; they are ordinary tokens
START = "_"  # the first character of every answer: the decoder's start-of-output token
WORD_PAD = "<pad>"  # the padding token of a word vocabulary (a space cannot be a word)
LEVELS = ("char", "word")


class Vocab:
    """Token <-> id table, ids in order of first appearance; `pad` and `start` are ordinary tokens.

    `level="char"` (the default, the book's): every character is a token. `level="word"`: tokens
    are the whitespace-separated words, except that a leading `start` is a token of its own
    (`"_Tom"` -> `["_", "Tom"]`), so the book's answer format works for sentences too.
    As in the book, padding and the start token are predicted like any other token (no mask, no
    end token). `encode(text)` -> int array (T,); `decode(ids)` -> str.
    """

    def __init__(self, chars="", pad: str | None = None, start: str = START, level: str = "char"):
        if level not in LEVELS:
            raise ValueError(f"Vocab: level must be one of {LEVELS}, got {level!r}")
        self.level = level
        pad = (PAD if level == "char" else WORD_PAD) if pad is None else pad
        if level == "char" and (len(pad) != 1 or len(start) != 1 or pad == start):
            raise ValueError(f"Vocab: pad {pad!r} and start {start!r} must be two different single characters")
        if level == "word" and (not pad or not start or pad == start or len((pad + " " + start).split()) != 2):
            raise ValueError(f"Vocab: pad {pad!r} and start {start!r} must be two different words without spaces")
        self.pad, self.start = pad, start
        self.stoi: dict[str, int] = {}
        self.itos: list[str] = []
        self.add(chars)

    def tokens(self, text: str) -> list[str]:
        """The tokens of `text`: its characters, or its words (a leading start token split off)."""
        if self.level == "char":
            return list(text)
        if text.startswith(self.start):
            return [self.start, *text[len(self.start) :].split()]
        return text.split()

    def add(self, text) -> Vocab:
        """Give every new token of `text` (a string, or a list of tokens) the next id (returns self)."""
        for tok in dict.fromkeys(self.tokens(text) if isinstance(text, str) else text):
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)
        return self

    @classmethod
    def from_pairs(cls, pairs, pad: str | None = None, start: str = START, level: str = "char") -> Vocab:
        """The book's table: read the pairs in order, each question before its answer."""
        v = cls(pad=pad, start=start, level=level)
        for q, a in pairs:
            v.add(q).add(a)
        return v

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, tok) -> bool:
        return tok in self.stoi

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    __hash__ = None  # mutable (`add`), so not hashable

    def __repr__(self) -> str:
        shown = "".join(self.itos) if self.level == "char" else " ".join(self.itos[:20])
        return f"Vocab({shown!r}, size={len(self)}{', level=word' if self.level == 'word' else ''})"

    def to_dict(self) -> dict:
        """A plain JSON-able description: tokens in id order, pad, start, level."""
        return {"tokens": list(self.itos), "pad": self.pad, "start": self.start, "level": self.level}

    @classmethod
    def from_dict(cls, d) -> Vocab:
        """Rebuild the table written by `to_dict` (ids unchanged)."""
        try:
            tokens, pad, start, level = d["tokens"], d["pad"], d["start"], d.get("level", "char")
        except (KeyError, TypeError):
            raise ValueError(f"Vocab.from_dict: need tokens, pad and start, got {str(d)[:80]}") from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("Vocab.from_dict: tokens must be a list of strings")
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocab.from_dict: tokens are not distinct")
        v = cls(pad=pad, start=start, level=level)
        v.add(tokens)
        return v

    def difference(self, other: Vocab, mine: str = "this", theirs: str = "other") -> str | None:
        """None when both tables are equal, else one sentence naming both and where they first differ."""
        if self == other:
            return None
        if self.level != other.level:
            return f"{mine} vocabulary is {self.level}-level, {theirs} is {other.level}-level"
        for what in ("pad", "start"):
            if getattr(self, what) != getattr(other, what):
                return f"{what} token is {getattr(self, what)!r} in {mine}, {getattr(other, what)!r} in {theirs}"
        a, b = self.itos, other.itos
        diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
        parts = [f"{mine} has {len(a)} tokens {self._show()}, {theirs} has {len(b)} tokens {other._show()}"]
        if diff:
            shown = ", ".join(f"id {i}: {a[i]!r} vs {b[i]!r}" for i in diff[:5])
            parts.append(f"{len(diff)} ids differ ({shown}{', ...' if len(diff) > 5 else ''})")
        missing, extra = [t for t in b if t not in self.stoi], [t for t in a if t not in other.stoi]
        if missing:
            parts.append(f"only in {theirs}: {''.join(missing) if self.level == 'char' else missing}")
        if extra:
            parts.append(f"only in {mine}: {''.join(extra) if self.level == 'char' else extra}")
        return "; ".join(parts)

    def _show(self) -> str:
        return repr("".join(self.itos)) if self.level == "char" else repr(self.itos[:10])

    @property
    def pad_id(self) -> int:
        """Id of the padding token (adds it if the table has never seen it)."""
        return self._id_of(self.pad)

    @property
    def start_id(self) -> int:
        """Id of the start-of-output token (adds it if the table has never seen it)."""
        return self._id_of(self.start)

    def _id_of(self, tok):
        if tok not in self.stoi:
            self.add([tok])
        return self.stoi[tok]

    def encode(self, text: str) -> np.ndarray:
        """Ids of the tokens of `text` -> int64 array (T,); unknown tokens raise KeyError."""
        try:
            return np.array([self.stoi[tok] for tok in self.tokens(text)], dtype=np.int64)
        except KeyError as e:
            raise KeyError(f"Vocab.encode: {self._what()} {e.args[0]!r} is not in the vocabulary") from None

    def _what(self):
        return "character" if self.level == "char" else "word"

    def encode_batch(self, texts, width: int | None = None) -> np.ndarray:
        """Encode texts, shorter ones padded with `pad` to `width` tokens (default: the longest) -> (N, width)."""
        texts = list(texts)
        if self.level == "word":
            return self._encode_words(texts, width)
        width = width if width is not None else max((len(t) for t in texts), default=0)
        for t in texts:
            if len(t) > width:
                raise ValueError(f"Vocab.encode_batch: text {t!r} is longer than width {width}")
        joined = "".join(t.ljust(width, self.pad) for t in texts)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        table = np.full(max(max(map(ord, self.itos), default=0), int(codes.max(initial=0))) + 1, -1, np.int64)
        table[[ord(ch) for ch in self.itos]] = np.arange(len(self.itos))
        ids = table[codes]
        if (ids < 0).any():
            bad = joined[int(np.argmax(ids < 0))]
            raise KeyError(f"Vocab.encode_batch: character {bad!r} is not in the vocabulary")
        return ids.reshape(len(texts), width)

    def _encode_words(self, texts, width):
        toks = [self.tokens(t) for t in texts]
        width = width if width is not None else max(map(len, toks), default=0)
        out = np.full((len(texts), width), self.pad_id, dtype=np.int64)
        for i, ts in enumerate(toks):
            if len(ts) > width:
                raise ValueError(f"Vocab.encode_batch: text {texts[i][:40]!r} has {len(ts)} words, over width {width}")
            try:
                out[i, : len(ts)] = [self.stoi[t] for t in ts]
            except KeyError as e:
                raise KeyError(f"Vocab.encode_batch: word {e.args[0]!r} is not in the vocabulary") from None
        return out

    def decode(self, ids, strip: bool = False) -> str:
        """The tokens of integer ids (T,) as a string (words joined by spaces); `strip` drops trailing padding."""
        toks = [self.itos[int(i)] for i in np.asarray(ids).reshape(-1)]
        while strip and toks and toks[-1] == self.pad:
            toks.pop()
        return ("" if self.level == "char" else " ").join(toks)
