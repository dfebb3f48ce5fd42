"""Subcommands of the `tinygrad-attn` command line (one module each)."""
