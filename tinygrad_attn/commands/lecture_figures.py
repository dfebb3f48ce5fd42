"""The lecture's figures: the registry `FIGURES`, in the lecture's order.

Every `fig_*(out, lang, quick)` writes its picture(s) into the folder `out`, each as NAME.png and
NAME.svg with the words of `lang` inside, and returns a dict: `files` (the file names written)
and the numbers its caption quotes. Nothing is precomputed except Table 3's maps, which come from
the score study (shipped with the package; see `lecture_maps`).
"""

from __future__ import annotations

from .lecture_6_2 import fig_6_2
from .lecture_attention import fig_table3, fig_transformer
from .lecture_maps import study_maps
from .lecture_rnn import RADII_67, TOM, fig_6_4, fig_6_7, fig_tanh, matmul_chain, tom_grads, tom_sentence
from .lecture_seq2seq import fig_8_18, fig_seq2seq

FIGURES = {
    "6-2": fig_6_2,
    "6-4": fig_6_4,
    "6-7": fig_6_7,
    "tanh": fig_tanh,
    "seq2seq": fig_seq2seq,
    "8-18": fig_8_18,
    "table3": fig_table3,
    "transformer": fig_transformer,
}

__all__ = ["FIGURES", "RADII_67", "TOM", "matmul_chain", "study_maps", "tom_grads", "tom_sentence"]
