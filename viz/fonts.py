"""Fonts for matplotlib pictures with real SVG text: DejaVu Sans, and a CJK font for Korean when one is installed.

`style(lang)` is the rc context every plot draws and saves in: SVG text stays text
(`svg.fonttype: none`), and for `lang="ko"` a Korean-capable font follows DejaVu Sans in the
family list (matplotlib falls back glyph by glyph). `cjk_family()` finds that font, also when it
was installed after matplotlib built its font cache.
"""

from __future__ import annotations

import contextlib
import functools
import os

# Korean-capable families, best first: Debian's fonts-noto-cjk, then common system fonts
CJK_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans K",
    "Source Han Sans KR",
    "NanumGothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "Malgun Gothic",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Serif CJK KR",
)
CJK_FILE_HINTS = ("NotoSansCJK", "NotoSansKR", "SourceHanSans", "NanumGothic", "AppleSDGothic", "malgun")
LATIN = "DejaVu Sans"
INSTALL_HINT = "install a Korean font (Debian/Ubuntu: apt-get install fonts-noto-cjk)"


@functools.lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The name of an installed font with Hangul glyphs, or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in known), None)
    if found:
        return found
    for path in font_manager.findSystemFonts():  # a font installed after the cache was built
        if any(h.lower() in os.path.basename(path).lower() for h in CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in known), None)


def families(lang: str = "en") -> list[str]:
    """The font family list for pictures in `lang`: DejaVu Sans, then a CJK font for 'ko' if there is one."""
    cjk = cjk_family() if lang == "ko" else None
    return [LATIN, cjk] if cjk else [LATIN]


def rc(lang: str = "en") -> dict:
    """matplotlib rc settings for a picture in `lang` whose SVG keeps its text as text."""
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "tinygrad-attn",  # the same picture gives the same SVG bytes
        "font.family": families(lang),
        "mathtext.fontset": "dejavusans",
        "font.size": 11.0,  # tick labels 11 pt: their exponents (7.7 pt) stay >= 8 px on an 11-inch figure at 900 px
    }


@contextlib.contextmanager
def style(lang: str = "en"):
    """Context manager: draw and save matplotlib figures for `lang` (see `rc`)."""
    import matplotlib

    with matplotlib.rc_context(rc(lang)):
        yield
