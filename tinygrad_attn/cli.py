"""The `tinygrad-attn` command: `demo` (the vanishing-gradient study), `train`/`predict` (seq2seq), `lecture`.

Each subcommand lives in its own module with `add_arguments(parser)` and `run(args) -> int`;
this file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "demo": ("tinygrad_attn.commands.demo", "the vanishing-gradient study: pictures into out/"),
    "train": ("tinygrad_attn.commands.train", "train a seq2seq model on a task or a data file"),
    "predict": ("tinygrad_attn.commands.predict", "ask a checkpoint written by train --save a question"),
    "lecture": ("tinygrad_attn.commands.lecture", "the lecture's figures, each with a caption (--lang ko)"),
}


def main(argv=None) -> int:
    """Entry point of the console script."""
    ap = argparse.ArgumentParser(prog="tinygrad-attn", description="tinygrad_attn: see the gradient.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:  # a subcommand whose module is not there yet
            continue
        p = sub.add_parser(name, help=help_text, description=mod.__doc__)
        mod.add_arguments(p)
        p.set_defaults(run=mod.run)
    args = ap.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
