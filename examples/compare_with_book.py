"""Train one of the book's seq2seq models and ours side by side from the same weights on the same batches.

    git clone https://github.com/oreilly-japan/deep-learning-from-scratch-2 ../dlfs2
    python examples/compare_with_book.py --book ../dlfs2 --epochs 1                    # ch. 7, addition
    python examples/compare_with_book.py --book ../dlfs2 --model attention --epochs 1  # ch. 8, dates

Both start from the weights the book's model draws (`PeekySeq2seq` copied into
`ta.nn.Seq2Seq(peeky=True)`, or `AttentionSeq2seq` into `ta.nn.AttentionSeq2Seq(score="dot")`),
see the same batches of reversed questions (351 of 128 per epoch, a fresh shuffle each epoch), clip the
global gradient norm at 5 and take Adam steps (the book's `Adam` and `clip_grads` against
`ta.optim`). After every epoch it prints both losses, the largest difference in any parameter,
and the test accuracy each set of weights gives, and the seconds each code spent on its training
steps (forward, backward, clip and update; the two alternate step by step, so both see the same
machine). Exit status 1 if a parameter drifts further than
--tol after the first epoch. Nothing of the book's code is copied here: it is imported from the clone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import functional as F
from tinygrad_attn import optim

# --model -> (the book's chapter, module and class; the packaged dataset; hidden size)
MODELS = {
    "peeky": ("ch07", "peeky_seq2seq", "PeekySeq2seq", "book:addition", 128),
    "attention": ("ch08", "attention_seq2seq", "AttentionSeq2seq", "book:date", 256),
}


def import_book(book_dir, model):
    """The book's model class, Adam and clip_grads, imported from a clone of its repository."""
    chapter, module, cls, _, _ = MODELS[model]
    for sub in ("", chapter):
        sys.path.insert(0, os.path.join(os.path.abspath(book_dir), sub))
    try:
        from common.optimizer import Adam
        from common.util import clip_grads

        Model = getattr(__import__(module), cls)
    except (ImportError, AttributeError) as e:
        sys.exit(f"compare_with_book: {book_dir} does not look like a clone of deep-learning-from-scratch-2 ({e})")
    return Model, Adam, clip_grads


def our_model(model, V, D, H):
    if model == "peeky":
        return ta.nn.Seq2Seq(V, D, H, peeky=True)
    return ta.nn.AttentionSeq2Seq(V, D, H, score="dot")


def book_params(book, H, model):
    """The book's parameters under our names and layout.

    The book's peeky decoder concatenates [h_enc, x] and [h_enc, h_dec]; ours [x, h_enc] and
    [h_dec, h_enc], so the rows of the decoder's W_x and the output layer's W swap blocks. The
    attention decoder concatenates [context, h_dec] in both.
    """
    enc, dec = book.encoder, book.decoder

    def swap(W):  # rows [:H] belong to h_enc in the book's peeky layout
        return np.concatenate([W[H:], W[:H]]) if model == "peeky" else W

    return {
        "src_embed.W": enc.embed.params[0],
        "encoder.W_x": enc.lstm.params[0],
        "encoder.W_h": enc.lstm.params[1],
        "encoder.b": enc.lstm.params[2],
        "tgt_embed.W": dec.embed.params[0],
        "decoder.W_x": swap(dec.lstm.params[0]),
        "decoder.W_h": dec.lstm.params[1],
        "decoder.b": dec.lstm.params[2],
        "out.W": swap(dec.affine.params[0]),
        "out.b": dec.affine.params[1],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--book", required=True, help="a clone of oreilly-japan/deep-learning-from-scratch-2")
    p.add_argument("--model", choices=list(MODELS), default="peeky", help="the book's model to compare")
    p.add_argument("--epochs", type=int, default=1, help="epochs of 351 steps (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fused", action="store_true", help="fused LSTM cells, as `tinygrad-attn train` runs")
    p.add_argument("--tol", type=float, default=1e-4, help="largest parameter difference accepted after epoch 1")
    a = p.parse_args(argv)
    BookModel, BookAdam, clip_grads = import_book(a.book, a.model)
    from tinygrad_attn.commands.train import evaluate

    _, _, _, file, H = MODELS[a.model]
    d = ta.data.load_pairs(file).reversed()
    V, D, B = len(d.vocab), 16, 128
    np.random.seed(a.seed)
    book = BookModel(V, D, H)
    ours = our_model(a.model, V, D, H)
    ours.load_state_dict({k: v.copy() for k, v in book_params(book, H, a.model).items()})
    ours.fuse_cells(a.fused)
    scratch = our_model(a.model, V, D, H)  # holds the book's weights for evaluation
    params = ours.parameters()
    book_opt, our_opt = BookAdam(), optim.Adam(params)

    rng = np.random.default_rng(a.seed)
    status = 0
    for epoch in range(1, a.epochs + 1):
        order = rng.permutation(len(d.x_train))
        book_losses, our_losses = [], []
        book_s = our_s = 0.0
        for k in range(len(order) // B):
            idx = order[k * B : (k + 1) * B]
            x, t = d.x_train[idx], d.t_train[idx]
            t0 = time.perf_counter()
            book_losses.append(book.forward(x, t))
            book.backward()
            clip_grads(book.grads, 5.0)
            book_opt.update(book.params, book.grads)
            t1 = time.perf_counter()
            loss = F.cross_entropy(ours(x, t[:, :-1]), t[:, 1:])
            our_opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(params, 5.0)
            our_opt.step()
            our_losses.append(loss.item())
            t2 = time.perf_counter()
            book_s, our_s = book_s + (t1 - t0), our_s + (t2 - t1)
        ref = book_params(book, H, a.model)
        diff = max(float(np.abs(ref[n] - q.data).max()) for n, q in ours.named_parameters())
        scratch.load_state_dict({n: v.copy() for n, v in ref.items()})
        acc_book = evaluate(scratch, d.x_test, d.t_test, d.vocab.start_id)
        acc_ours = evaluate(ours, d.x_test, d.t_test, d.vocab.start_id)
        print(
            f"epoch {epoch:2d}  loss book {np.mean(book_losses):.6f} ours {np.mean(our_losses):.6f}  "
            f"largest parameter difference {diff:.2e}  test accuracy book {100 * acc_book:.2f} % "
            f"ours {100 * acc_ours:.2f} %  training steps book {book_s:.2f} s ours {our_s:.2f} s "
            f"(ours / book {our_s / book_s:.2f})",
            flush=True,
        )
        if epoch == 1 and diff > a.tol:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
