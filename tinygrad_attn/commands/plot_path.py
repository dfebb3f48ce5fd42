"""What `--plot PATH` means, the same in `train` and `predict`: a picture file, or a folder for the pictures.

A PATH ending in .png, .svg or .pdf is a picture file: the command's main picture is written there
(train: the training curves; predict: the attention map) and any further ones beside it, named
`<stem>_<name><suffix>`. Any other PATH is a folder (created if missing) holding `<name>.png` files.
"""

from __future__ import annotations

import os

SUFFIXES = (".png", ".svg", ".pdf")
RULE = "PATH is a picture file when it ends in .png, .svg or .pdf, else a folder (created if missing)"


def is_picture_file(path) -> bool:
    """True when PATH names a picture file (by its suffix), False when it names a folder."""
    return os.path.splitext(os.fspath(path))[1].lower() in SUFFIXES


def picture(path, name: str, main: bool = False) -> str:
    """Where the picture `name` goes under `--plot path` (the main picture is the file itself)."""
    path = os.fspath(path)
    if not is_picture_file(path):
        return os.path.join(path, f"{name}.png")
    if main:
        return path
    stem, suffix = os.path.splitext(path)
    return f"{stem}_{name}{suffix}"


def make_room(path) -> None:
    """Create the folder that `--plot path` writes into (nothing to do for a picture file)."""
    if not is_picture_file(path):
        os.makedirs(path, exist_ok=True)
