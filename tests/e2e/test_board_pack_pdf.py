"""The board pack as PDF (``GET /v1/cycles/{id}/snapshot/export?format=pdf``): the demo's
sealed quarter renders to the same bytes every time (through the API, rendered again later
in this process, and in another process), so its SHA-256 can be quoted in the minutes; it
names the firm and the cycle; another snapshot is another file; a server that cannot load
WeasyPrint starts, serves the rest and answers 503 for the PDF."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from console_pages import ConsoleSite, console_site

from services.application.principals import Principal, Role
from services.reports import board_pack_pdf
from services.reports.board_pack import BoardPack, board_pack
from services.reports.board_pack_pdf import render_pdf

#: Renders the board report given as a file, in a process of its own.
RENDER_ELSEWHERE = """
import sys
from datetime import datetime
from services.reports import board_pack_pdf
from services.reports.board_pack_pdf import render_pdf
html = open(sys.argv[1], "rb").read()
pdf = render_pdf(html, digest=sys.argv[2], moment=datetime.fromisoformat(sys.argv[3]))
sys.stdout.buffer.write(pdf)
"""


@pytest.fixture(scope="module")
def site() -> Iterator[ConsoleSite]:
    with console_site() as served:
        yield served


@pytest.fixture(scope="module")
def api(site: ConsoleSite) -> Iterator[httpx.Client]:
    token = site.token("priya", "executive")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=site.base, headers=headers, timeout=120) as client:
        yield client


def _seal(api: httpx.Client, cycle_id: str) -> dict[str, Any]:
    seal: dict[str, Any] = api.get(f"/v1/cycles/{cycle_id}").json()["seal"]
    return seal


def _pdf(api: httpx.Client, cycle_id: str, as_of: int | None) -> httpx.Response:
    params: dict[str, Any] = {"format": "pdf"}
    if as_of is not None:
        params["as_of"] = as_of
    answer = api.get(f"/v1/cycles/{cycle_id}/snapshot/export", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return answer


def _pack(site: ConsoleSite, cycle_id: str, as_of: int) -> BoardPack:
    platform = site.platform
    priya = Principal("priya", frozenset({Role.EXECUTIVE}))
    return board_pack(
        platform.ledger, priya, UUID(cycle_id), as_of, firm_name=platform.settings.firm_name,
        names=platform.names,
    )  # fmt: skip


def _streams(pdf: bytes) -> list[bytes]:
    """Every stream of ``pdf`` that inflates (WeasyPrint compresses each, objects too)."""
    found = []
    for start in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", start.end())
        try:
            found.append(zlib.decompress(pdf[start.end() : end]))
        except zlib.error:
            continue
    return found


def pdf_text(pdf: bytes) -> str:
    """The text of each run in ``pdf``, decoded with each of its fonts' ToUnicode maps (a
    run decoded with another font's map is noise beside it): enough to find a name."""
    streams = _streams(pdf)
    maps = []
    for cmap in (s for s in streams if b"begincmap" in s):
        pairs = re.findall(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", cmap)
        maps.append({int(g, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for g, u in pairs})
    runs = []
    for content in (s for s in streams if b" Tf" in s):
        for array in re.findall(rb"\[([^\]]*)\]\s*TJ", content):
            glyphs = b"".join(re.findall(rb"<([0-9a-fA-F]*)>", array)).decode()
            ids = [int(glyphs[i : i + 4], 16) for i in range(0, len(glyphs), 4)]
            runs.extend("".join(m.get(g, "\ufffd") for g in ids) for m in maps)
    return "\n".join(runs)


def test_the_sealed_quarter_is_the_same_pdf_every_time(
    site: ConsoleSite, api: httpx.Client, tmp_path: Path
) -> None:
    cycle_id = str(site.cycle_id("last"))
    seal = _seal(api, cycle_id)
    answer = _pdf(api, cycle_id, seal["position"])
    served = answer.content
    assert served.startswith(b"%PDF-") and served.rstrip().endswith(b"%%EOF")
    assert answer.headers["x-okrgov-snapshot-digest"] == seal["digest"]

    pack = _pack(site, cycle_id, seal["position"])
    assert pack.is_sealed_snapshot and pack.seal is not None
    html = pack.html()
    first = render_pdf(html, digest=pack.snapshot.digest, moment=pack.moment)
    time.sleep(1.1)  # the clock moves on: nothing of it may reach the file
    second = render_pdf(html, digest=pack.snapshot.digest, moment=pack.moment)
    (tmp_path / "pack.html").write_bytes(html)
    elsewhere = subprocess.run(
        [sys.executable, "-c", RENDER_ELSEWHERE, str(tmp_path / "pack.html"),
         pack.snapshot.digest, pack.seal.sealed_at.isoformat()],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    digests = {hashlib.sha256(pdf).hexdigest() for pdf in (served, first, second, elsewhere)}
    assert len(digests) == 1, "the same snapshot rendered to different PDFs"

    # Dated the seal's time, not the render's.
    sealed_at = datetime.fromisoformat(api.get(f"/v1/cycles/{cycle_id}").json()["sealed_at"])
    stamp = f"(D:{sealed_at.astimezone(UTC):%Y%m%d%H%M%S}Z)".encode()
    info = b"".join(s for s in _streams(served) if b"/CreationDate" in s)
    assert b"/CreationDate " + stamp in info and b"/ModDate " + stamp in info

    text = pdf_text(served)
    cycle_name = pack.snapshot.document["cycle"]["name"]
    assert site.platform.settings.firm_name in text
    assert f"Cycle {cycle_name}" in text


def test_another_snapshot_is_another_pdf(site: ConsoleSite, api: httpx.Client) -> None:
    cycle_id = str(site.cycle_id("last"))
    sealed_at = _seal(api, cycle_id)["position"]
    sealed = _pdf(api, cycle_id, sealed_at).content
    earlier = _pdf(api, cycle_id, sealed_at - 40)
    assert earlier.headers["x-okrgov-snapshot-position"] == str(sealed_at - 40)
    assert earlier.content.startswith(b"%PDF-") and earlier.content != sealed
    runs = pdf_text(earlier.content).splitlines()
    assert str(sealed_at - 40) in runs  # the position it is as of, printed in bold


def test_a_server_without_weasyprint_serves_the_rest_and_says_why_no_pdf(
    site: ConsoleSite, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle_id = str(site.cycle_id("current"))
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint now fails
    monkeypatch.setattr(board_pack_pdf, "_rendered", OrderedDict())  # none kept from before
    refused = api.get(f"/v1/cycles/{cycle_id}/snapshot/export", params={"format": "pdf"})
    assert refused.status_code == 503
    assert "WeasyPrint could not load" in refused.json()["error"]["message"]
    html = api.get(f"/v1/cycles/{cycle_id}/snapshot/export", params={"format": "html"})
    assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>")


def test_the_server_starts_without_loading_weasyprint() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, services.api, services.console.app, "
         "services.reports.board_pack; print('weasyprint' in sys.modules)"],
        capture_output=True, check=True, text=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    assert loaded == "False"
