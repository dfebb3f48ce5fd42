"""Draw where a trained date model looks: attention heatmaps for a few test questions.

    tinygrad-attn train --data book:date --model attention --reverse --epochs 3 \\
        --hidden 256 --save out/dates_attn.npz
    python examples/attention_heatmaps.py --weights out/dates_attn.npz --out out/heatmaps

Rows are the generated characters, columns the question as written (the model reads it reversed).
"""

from __future__ import annotations

import argparse
import os

import tinygrad_attn as ta
from tinygrad_attn import data, nn


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--data", default="book:date", help="the data the model was trained on (default book:date)")
    p.add_argument("--weights", required=True, help="an .npz written by `tinygrad-attn train --save`")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--wordvec", type=int, default=16)
    p.add_argument("--score", default="dot")
    p.add_argument("--examples", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default=os.path.join("out", "heatmaps"))
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = data.load_pairs(args.data).reversed()
    S = d.x_test.shape[1]
    model = nn.AttentionSeq2Seq(len(d.vocab), args.wordvec, args.hidden, score=args.score, max_len=S)
    model.load_state_dict(ta.load(args.weights))
    model.eval()
    x = d.x_test[args.examples]
    ids = model.generate(x, d.vocab.start_id, d.t_test.shape[1] - 1)
    w = model.attention_weights
    os.makedirs(args.out, exist_ok=True)
    fig, axes = plt.subplots(1, len(args.examples), figsize=(5.2 * len(args.examples), 4.2), squeeze=False)
    for ax, xi, oi, wi in zip(axes[0], x, ids, w):
        q = d.vocab.decode(xi[::-1])  # as written
        n = len(q.rstrip())  # drop the padding columns
        wq = wi[:, ::-1][:, :n]  # columns in reading order
        ax.imshow(wq, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(n), list(q[:n]))
        ax.set_yticks(range(len(oi)), list(d.vocab.decode(oi)))
        ax.set_title(f"{q.strip()!r} -> {d.vocab.decode(oi)}", fontsize=9)
    fig.suptitle("Attention weights of the date model (rows: output characters, columns: the question)")
    fig.tight_layout()
    path = os.path.join(args.out, "dates_attention.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
