"""The board pack as PDF: WeasyPrint renders the board report's HTML, with nothing in the
file that changes between two renders of the same snapshot, so the PDF's SHA-256 can be
quoted in the board minutes and checked by anyone who downloads it again.

* no clock: the creation and modification dates are the moment the pack is about (the
  seal's time for the sealed snapshot, else the time of the snapshot's last event), and
  the file identifier is taken from the snapshot's digest, not drawn at random;
* no machine's fonts by chance: every text is set in DejaVu (Debian's fonts-dejavu-core),
  whatever families the report's stylesheet names;
* no fetch: the report is self-contained, and the renderer may load nothing at all.

WeasyPrint needs pango at run time. It is imported when a PDF is asked for, never when the
server starts, so a machine without pango serves everything else and answers a PDF request
with ``PdfUnavailable``. Renders take a lock: one at a time, each in the caller's thread
(a worker thread under the web server), and the last few are kept, so the page that shows
a PDF's SHA-256 and the download that follows render it once."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

#: The families the PDF is set in (fonts-dejavu-core); the report names web fonts.
FONTS_CSS = """
body, table, .figure .label, .sub, .note, .muted { font-family: "DejaVu Sans" !important; }
h1, h2, h3, .firm, .figure .value { font-family: "DejaVu Serif" !important; }
code, code.whole { font-family: "DejaVu Sans Mono" !important; }
"""
_KEPT = 8

_lock = threading.Lock()
_rendered: OrderedDict[bytes, bytes] = OrderedDict()


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or the pango library it needs) cannot be loaded on this machine."""


def _weasyprint() -> ModuleType:
    try:  # needs pango: loaded when a PDF is asked for, never at start
        return importlib.import_module("weasyprint")
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            "the board pack PDF cannot be made on this server: WeasyPrint could not load "
            f"({exc}); install pango (Debian: libpango-1.0-0 libpangoft2-1.0-0) and "
            "fonts-dejavu-core. The HTML board pack is available."
        ) from None


def _refuse_fetch(url: str, _headers: Any = None) -> Any:
    raise ValueError(f"the board pack loads nothing: {url}")


def pdf_date(moment: datetime) -> str:
    """A moment as WeasyPrint's metadata takes it (W3C date and time, UTC, to the second)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_pdf(html: bytes, *, digest: str, moment: datetime | None) -> bytes:
    """The PDF of the board report ``html`` (UTF-8) of the snapshot whose digest is
    ``digest``, dated ``moment`` (no dates when None), rendered now. The same arguments
    give the same bytes; ``PdfUnavailable`` when WeasyPrint cannot load."""
    weasyprint = _weasyprint()
    with _lock:
        return _render(weasyprint, html, digest, moment)


def cached_pdf(html: bytes, *, digest: str, moment: datetime | None) -> bytes:
    """``render_pdf``, or the same bytes again if they are among the last few rendered."""
    key = hashlib.sha256(
        b"\0".join([html, digest.encode(), pdf_date(moment).encode() if moment else b""])
    ).digest()
    with _lock:
        if key in _rendered:
            _rendered.move_to_end(key)
            return _rendered[key]
    pdf = render_pdf(html, digest=digest, moment=moment)
    with _lock:
        _rendered[key] = pdf
        while len(_rendered) > _KEPT:
            _rendered.popitem(last=False)
    return pdf


def _render(weasyprint: ModuleType, html: bytes, digest: str, moment: datetime | None) -> bytes:
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=())
    fetcher.fetch = _refuse_fetch
    document = weasyprint.HTML(string=html.decode("utf-8"), url_fetcher=fetcher).render(
        stylesheets=[weasyprint.CSS(string=FONTS_CSS)]
    )
    metadata = document.metadata
    metadata.created = metadata.modified = pdf_date(moment) if moment else None
    # The file identifier (trailer /ID) from the digest: the same snapshot, the same id.
    identifier = hashlib.sha256(b"okrgov-board-pack:" + digest.encode()).hexdigest()[:32]
    pdf: bytes = document.write_pdf(pdf_identifier=identifier.encode())
    return pdf
