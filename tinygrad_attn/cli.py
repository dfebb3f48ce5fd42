"""The `tinygrad-attn` command: `demo` (the vanishing-gradient study), `train`/`predict` (seq2seq), `lecture`.

Each subcommand lives in its own module with `add_arguments(parser)` and `run(args) -> int`;
this file only wires them together. Flags are never abbreviated (`--epoch` is not `--epochs`),
and a flag a subcommand does not know is reported by that subcommand, with its usage.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys

COMMANDS = {
    "demo": ("tinygrad_attn.commands.demo", "the vanishing-gradient study: pictures into out/"),
    "train": ("tinygrad_attn.commands.train", "train a seq2seq model on the book's data, a task or a file"),
    "predict": ("tinygrad_attn.commands.predict", "ask a checkpoint written by train --save a question"),
    "lecture": ("tinygrad_attn.commands.lecture", "the lecture's figures, each with a caption (--lang ko)"),
}


def build_parser():
    """(the top-level parser, {command name: its subparser}); imports every command's module."""
    ap = argparse.ArgumentParser(
        prog="tinygrad-attn", description="tinygrad_attn: see the gradient.", allow_abbrev=False
    )
    sub = ap.add_subparsers(dest="command", required=True)
    parsers = {}
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)  # an ImportError here is a real bug: let it surface
        p = sub.add_parser(name, help=help_text, description=mod.__doc__, allow_abbrev=False)
        mod.add_arguments(p)
        p.set_defaults(run=mod.run)
        parsers[name] = p
    return ap, parsers


def _unknown_flags(parser, extras):
    """Report flags the subcommand does not know: its usage, then one error line (exit status 2)."""
    known = [s for a in parser._actions for s in a.option_strings]
    hints = [
        close[0]
        for flag in extras
        if flag.startswith("--") and (close := difflib.get_close_matches(flag.split("=")[0], known, n=1))
    ]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    parser.print_usage(sys.stderr)
    parser.exit(2, f"{parser.prog}: error: unrecognized arguments: {' '.join(extras)}{hint}\n")


def main(argv=None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    ap, parsers = build_parser()
    args, extras = ap.parse_known_args(argv)
    if extras:
        before_command = argv.index(args.command) if args.command in argv else len(argv)
        if any(a in argv[:before_command] for a in extras):
            ap.error(f"unrecognized arguments: {' '.join(extras)}")
        _unknown_flags(parsers[args.command], extras)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
