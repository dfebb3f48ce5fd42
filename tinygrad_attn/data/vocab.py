"""A character-level vocabulary: each character gets an integer id in order of first appearance."""

from __future__ import annotations

import numpy as np

PAD = " "  # the book pads questions and answers with spaces; they are ordinary tokens
START = "_"  # the first character of every answer: the decoder's start-of-output token


class Vocab:
    """Char <-> id table, ids in order of first appearance; `pad` and `start` are ordinary characters.

    As in the book, the padding space and the start token `_` are predicted like any other
    character (no mask, no end token). `encode("12+3")` -> int array (T,); `decode(ids)` -> str.
    """

    def __init__(self, chars="", pad: str = PAD, start: str = START):
        if len(pad) != 1 or len(start) != 1 or pad == start:
            raise ValueError(f"Vocab: pad {pad!r} and start {start!r} must be two different single characters")
        self.pad, self.start = pad, start
        self.stoi: dict[str, int] = {}
        self.itos: list[str] = []
        self.add(chars)

    def add(self, text: str) -> Vocab:
        """Give every new character of `text` the next id (returns self)."""
        for ch in dict.fromkeys(text):  # distinct characters in order of first appearance
            if ch not in self.stoi:
                self.stoi[ch] = len(self.itos)
                self.itos.append(ch)
        return self

    @classmethod
    def from_pairs(cls, pairs, pad: str = PAD, start: str = START) -> Vocab:
        """The book's table: read the pairs in order, each question before its answer."""
        return cls("".join(q + a for q, a in pairs), pad=pad, start=start)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, ch) -> bool:
        return ch in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({''.join(self.itos)!r}, size={len(self)})"

    @property
    def pad_id(self) -> int:
        """Id of the padding character (adds it if the table has never seen it)."""
        return self._id_of(self.pad)

    @property
    def start_id(self) -> int:
        """Id of the start-of-output character (adds it if the table has never seen it)."""
        return self._id_of(self.start)

    def _id_of(self, ch):
        if ch not in self.stoi:
            self.add(ch)
        return self.stoi[ch]

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of `text` -> int64 array (len(text),); unknown characters raise KeyError."""
        try:
            return np.array([self.stoi[ch] for ch in text], dtype=np.int64)
        except KeyError as e:
            raise KeyError(f"Vocab.encode: character {e.args[0]!r} is not in the vocabulary") from None

    def encode_batch(self, texts, width: int | None = None) -> np.ndarray:
        """Encode equal-width texts (shorter ones padded with `pad` to `width`) -> (N, width)."""
        texts = list(texts)
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

    def decode(self, ids) -> str:
        """The characters of integer ids (T,) as a string."""
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))
