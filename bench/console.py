"""Console benchmark: how long each web console page takes to render on the synthetic year.

Issue 14 asks how long each console page takes on the 1M-event synthetic year of
``bench/evidence.py``, for its largest cycle. This script:

1. builds the year with ``evidence.YearWriter`` (real domain events, a decision for every
   command, the leaf log and signed checkpoints) into a SQLite store in a directory, and
   catches the views up (OKR state, governance, audit trail: ``Platform.catch_up``);
   ``--store DIR`` keeps it there, and a later run with the same ``--store`` reuses it;
2. serves that store with a real ``okrgov serve`` (one process, as ``bench/http.py`` does)
   and makes a token for each role the pages need (``exec01``, an executive of the year; a
   compliance officer; the busiest owner of the largest cycle, for ``/console/mine``);
3. signs in to the console through its sign-in form (CSRF field and cookie, session
   cookie) with httpx, and for the largest cycle (the quarter with the most events) asks
   each page and, beside it, the API's JSON answer of the same data with a bearer token
   (the raw baseline), alternating page and API ``--repeats`` times after one untimed
   request of each: the median and the fastest, the whole request over loopback HTTP.

It prints one row per page: status, rows on the page (``<tr>`` in ``<tbody>``), its size,
page ms, API ms, the API answer's size and records, and page / API. A page that answers
404 is reported "not built". Nothing is asserted about the times.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from evidence import YearWriter, _size, people_for
from http_bench import Store as HttpStore
from http_bench import server
from summary import record

from infra.config import Settings
from projections.compliance import VIEWS
from services.bootstrap import build

SECRET = "bench-only-not-a-secret-bench-only"
META = "bench-console.json"


@dataclass(frozen=True)
class Store:
    """A built synthetic year, its views caught up: what ``--store`` reuses."""

    size: int
    people: int
    events: int
    seed: int
    year: int
    quarter_ends: list[tuple[str, int]]
    """Each cycle id and the position right after it was closed and scored."""
    generate_seconds: float
    catch_up_seconds: float


def settings_for(directory: Path, log_level: str = "WARNING") -> Settings:
    return Settings(
        data_dir=directory,
        database_url=None,
        secret_key=SECRET,
        log_level=log_level,
        checkpoint_every=1000,
        policy_engine="embedded",
        demo_sign_in=False,
    )


def build_store(directory: Path, size: int, seed: int, year: int) -> Store:
    """Write the year (``evidence.YearWriter``) into a SQLite store under ``directory``,
    catch every view up, and leave a note of what is there beside it."""
    if (directory / META).exists():
        raise SystemExit(f"{directory} already holds a built store ({META}); reuse it")
    directory.mkdir(parents=True, exist_ok=True)
    platform = build(settings_for(directory))
    try:
        people = people_for(size)
        writer = YearWriter(platform, people, seed, year, 1000)
        started = time.perf_counter()
        events = writer.write()
        generated = time.perf_counter() - started
        print(f"wrote {events:,} events ({people:,} people) in {generated:,.0f} s", flush=True)
        started = time.perf_counter()
        platform.catch_up()
        caught_up = time.perf_counter() - started
        print(f"caught up the views in {caught_up:,.0f} s", flush=True)
        store = Store(
            size, people, events, seed, year,
            [(str(c), p) for c, p in writer.quarter_ends], generated, caught_up,
        )  # fmt: skip
    finally:
        platform.close()
    (directory / META).write_text(json.dumps(asdict(store), indent=1))
    return store


def load_store(directory: Path) -> Store:
    data: dict[str, Any] = json.loads((directory / META).read_text())
    data["quarter_ends"] = [tuple(q) for q in data["quarter_ends"]]
    return Store(**data)


# ---- what is timed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Subjects:
    """What the pages are asked about: the largest cycle and things in it."""

    cycle: str
    cycle_name: str
    cycle_events: int
    objectives: int
    key_results: int
    key_result: str
    objective: str
    """The cycle's objective with the most key results (the audit page's filter)."""
    last_cycle: str
    owner: str
    """The person owning the most key results in the last cycle (``/console/mine``)."""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    """The console page, ``{cycle}``, ``{key_result}`` filled from ``Subjects``."""
    api: tuple[str, ...]
    """The API's JSON answers of the same data: the raw baseline (their times added up);
    none where the API has no answer of that data alone."""
    who: str = "executive"
    """Whose session: ``executive``, ``compliance`` or ``owner`` (``Subjects.owner``)."""


#: Every page issue 14 names, each beside the API answer it shows. A page that answers 404
#: is reported "not built", so the benchmark runs while pages are still being written.
PAGES: tuple[Page, ...] = (
    # A large cycle opens on its company level (services.reports.monday_rows.LARGE_CYCLE);
    # the baseline is the API's whole tree of the cycle all the same.
    Page("Monday (as it opens)", "/console?cycle_id={cycle}", ("/v1/cycles/{cycle}",)),
    Page(
        "mine (last cycle's owner)",
        "/console/mine",
        (
            "/v1/key-results?owner=me&cycle_id={last_cycle}",
            "/v1/objectives?owner=me&cycle_id={last_cycle}",
        ),
        who="owner",
    ),
    Page(
        "key result",
        "/console/key-results/{key_result}",
        ("/v1/key-results/{key_result}/history",),
    ),
    Page("approvals", "/console/approvals", ("/v1/change-requests?status=pending",)),
    Page(
        "change requests pending",
        "/console/change-requests?status=pending",
        ("/v1/change-requests?status=pending",),
    ),
    Page(
        "change requests approved",
        "/console/change-requests?status=approved",
        ("/v1/change-requests?status=approved",),
    ),
    Page("audit (first page)", "/console/audit", ("/v1/audit",), who="compliance"),
    Page(
        "audit (one objective)",
        "/console/audit?objective_id={objective}",
        ("/v1/audit?objective_id={objective}",),
        who="compliance",
    ),
    Page(
        "audit (KeyResult.Revised)",
        "/console/audit?type=KeyResult.Revised",
        ("/v1/audit?type=KeyResult.Revised",),
        who="compliance",
    ),
    *(
        Page(
            f"compliance/{view}",
            f"/console/compliance/{view}",
            (f"/v1/compliance/{view}",),
            who="compliance",
        )
        for view in VIEWS
    ),
    Page("integrity (checkpoints)", "/console/integrity", (), who="compliance"),
    Page(
        "integrity (check)",
        "/console/integrity?check=true",
        ("/v1/integrity?checkpoints=true",),
        who="compliance",
    ),
    Page("policies", "/console/policies", ("/v1/policies",)),
    Page("quarter-end (cycles)", "/console/quarter-end", ("/v1/cycles",)),
    Page(
        "quarter-end (snapshot)",
        "/console/quarter-end/{cycle}",
        ("/v1/cycles/{cycle}/snapshot",),
    ),
    Page(
        "board pack HTML",
        "/console/quarter-end/{cycle}/board-pack.html",
        ("/v1/cycles/{cycle}/snapshot",),
    ),
)

SLOW_MS = 30_000
TIMED_OUT = -1

ROLES = {"executive": ("exec01", ["executive"]), "compliance": ("bench.cco", ["compliance"])}


@dataclass
class Timing:
    status: int
    ms: list[float]
    rows: int
    kb: float

    @property
    def median(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")

    @property
    def best(self) -> float:
        return min(self.ms) if self.ms else float("nan")


def table_rows(html: str) -> int:
    """Rows of data on a page: ``<tr>`` inside ``<tbody>`` (headers are not rows)."""
    return sum(body.split("</tbody>")[0].count("<tr") for body in html.split("<tbody")[1:])


def json_rows(value: Any) -> int:
    """Records in an API answer: the objects in its lists, at any depth."""
    if isinstance(value, dict):
        return sum(json_rows(v) for v in value.values())
    if isinstance(value, list):
        return sum((isinstance(v, dict)) + json_rows(v) for v in value)
    return 0


def get(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> tuple[
    httpx.Response, float]:  # fmt: skip
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    return response, (time.perf_counter() - started) * 1e3


def signed_in(base: str, token: str, timeout: float) -> httpx.Client:
    """A browser's session: the sign-in form read (its CSRF cookie and field), the token
    posted, the session cookie kept."""
    client = httpx.Client(base_url=base, timeout=timeout)
    form = client.get("/console/sign-in")
    match = re.search(r'name="csrftoken"[^>]*value="([^"]+)"', form.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrftoken"', form.text
    )
    csrf = match.group(1) if match else client.cookies.get("okrgov_csrf", "")
    answer = client.post(
        "/console/sign-in", data={"csrftoken": csrf, "token": token, "next": "/console"}
    )
    if answer.status_code != 303 or "okrgov_session" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:200]}")
    return client


def _tree(api: httpx.Client, auth: dict[str, str], cycle: str) -> tuple[
    dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    tree = api.get(f"/v1/cycles/{cycle}", headers=auth).raise_for_status().json()
    objectives: list[dict[str, Any]] = []
    pending = list(tree["objectives"])
    while pending:
        node = pending.pop()
        objectives.append(node)
        pending.extend(node.get("children", []))
    return tree, objectives, [kr for o in objectives for kr in o.get("key_results", [])]


def subjects(api: httpx.Client, auth: dict[str, str], store: Store) -> Subjects:
    """The cycle with the most events (its quarter's positions) and things in it; for
    ``/console/mine`` (which shows the last closed cycle) the busiest owner of the last."""
    ends = [(cycle, position) for cycle, position in store.quarter_ends]
    sizes = [(p - (ends[i - 1][1] if i else 0), c) for i, (c, p) in enumerate(ends)]
    events, cycle = max(sizes)
    tree, objectives, key_results = _tree(api, auth, cycle)
    live = [kr for kr in key_results if kr.get("status") != "retired"]
    biggest = max(objectives, key=lambda o: len(o.get("key_results", [])))
    last = ends[-1][0]
    _, _, last_key_results = _tree(api, auth, last)
    owners = Counter(kr["owner"] for kr in last_key_results)
    return Subjects(
        cycle=cycle, cycle_name=tree["name"], cycle_events=events, objectives=len(objectives),
        key_results=len(key_results), key_result=str(live[0]["id"]),
        objective=str(biggest["id"]), last_cycle=last, owner=owners.most_common(1)[0][0],
    )  # fmt: skip


def tokens(store_dir: Path, owner: str) -> dict[str, str]:
    """A token for each role the pages need (recorded in the store: a few events)."""
    platform = build(settings_for(store_dir))
    try:
        made = {who: platform.tokens.create(user, roles) for who, (user, roles) in ROLES.items()}
        made["owner"] = platform.tokens.create(
            owner, ["executive"] if owner.startswith("exec") else ["member"]
        )
        platform.catch_up()
        return made
    finally:
        platform.close()


def measure(
    base: str,
    tokens_by_role: dict[str, str],
    s: Subjects,
    pages: list[Page],
    repeats: int,
    timeout: float,
) -> list[tuple[Page, Timing, Timing]]:
    """Each page and its API answer, alternating (page, API) ``repeats`` times after one
    untimed request of each. A page answering 404 is not timed further; a page whose first
    request took over ``SLOW_MS`` has that request as its one timing; one that took over
    ``timeout`` is reported as timed out (its server thread may still be at it)."""
    sessions = {who: signed_in(base, token, timeout) for who, token in tokens_by_role.items()}
    api = httpx.Client(base_url=base, timeout=timeout)
    results = []
    try:
        for page in pages:
            session = sessions[page.who]
            auth = {"Authorization": f"Bearer {tokens_by_role[page.who]}"}
            path = page.path.format(**asdict(s))
            api_paths = [a.format(**asdict(s)) for a in page.api]
            try:
                first, first_ms = get(session, path)
            except httpx.TimeoutException:
                results.append((page, Timing(TIMED_OUT, [], 0, 0), Timing(0, [], 0, 0)))
                print(f"{page.name:<30} timed out after {timeout:,.0f} s: {path}", flush=True)
                continue
            answers = [get(api, a, auth)[0] for a in api_paths]
            shown = Timing(first.status_code, [], table_rows(first.text), len(first.content) / 1024)
            raw = Timing(
                max((a.status_code for a in answers), default=0),
                [],
                sum(json_rows(a.json()) for a in answers if a.status_code == 200),
                sum(len(a.content) for a in answers) / 1024,
            )
            if first.status_code != 404:
                slow = first_ms >= SLOW_MS
                if slow:
                    shown.ms.append(first_ms)
                for _ in range(1 if slow else repeats):
                    if not slow:
                        shown.ms.append(get(session, path)[1])
                    if api_paths:
                        raw.ms.append(sum(get(api, a, auth)[1] for a in api_paths))
            results.append((page, shown, raw))
            print(line(page, shown, raw), flush=True)
    finally:
        api.close()
        for session in sessions.values():
            session.close()
    return results


HEAD = (
    f"{'page':<30} {'status':>6} {'rows':>6} {'KB':>7} {'page ms':>9} {'(min)':>8} "
    f"{'API ms':>8} {'(min)':>8} {'API KB':>7} {'API rows':>8} {'ratio':>7}"
)


def line(page: Page, shown: Timing, raw: Timing) -> str:
    if shown.status == TIMED_OUT:
        return f"{page.name:<30} {'timed out':<40} {page.path}"
    if shown.status == 404:
        return f"{page.name:<30} {'not built (404)':<40} {page.path}"
    status = str(shown.status) if raw.status in (0, 200) else f"{shown.status}/{raw.status}"
    text = (
        f"{page.name:<30} {status:>6} {shown.rows:>6,} {shown.kb:>7,.1f} {shown.median:>9.1f} "
        f"{shown.best:>8.1f} "
    )
    if not raw.ms:
        return text + f"{'(no API answer of this data alone)':>43}"
    return text + (
        f"{raw.median:>8.1f} {raw.best:>8.1f} {raw.kb:>7,.1f} {raw.rows:>8,} "
        f"{shown.median / raw.median:>6.2f}x"
    )


def run(store_dir: Path, store: Store, pages: list[Page], repeats: int, timeout: float) -> None:
    log = store_dir / "server.log"
    with server(HttpStore("sqlite", store_dir, {"OKRGOV_DATA_DIR": str(store_dir)}), 1, log) as (
        port, _pid,
    ):  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        # The subjects are read as the executive (a token made first, for the cycle tree).
        made = tokens(store_dir, ROLES["executive"][0])
        with httpx.Client(base_url=base, timeout=timeout) as api:
            s = subjects(api, {"Authorization": f"Bearer {made['executive']}"}, store)
        made = tokens(store_dir, s.owner)
        print(
            f"\nstore: {store.events:,} events (synthetic year of {store.people:,} people), "
            f"SQLite, {_size_on_disk(store_dir)}; largest cycle {s.cycle_name} ({s.cycle}): "
            f"{s.cycle_events:,} events, {s.objectives:,} objectives, {s.key_results:,} key "
            f"results; key result {s.key_result}; 'mine' as {s.owner}"
        )
        print(
            f"each page and its API answer alternated {repeats} times after one untimed "
            "request each; ms = median (min) of the whole request over HTTP (httpx -> "
            "okrgov serve, 1 process); ratio = page median / API median"
        )
        print(HEAD)
        results = measure(base, made, s, pages, repeats, timeout)
    work = f"{store.events:,} events, cycle of {s.objectives:,} objectives / {s.key_results:,} KRs"
    for page, shown, raw in results:
        if shown.status == 200 and raw.status == 200 and raw.ms:
            apis = " + ".join(a.split("?")[0] for a in page.api)
            record(
                "console", f"{page.name}: page / API JSON", shown.median / raw.median,
                baseline=f"{apis} {raw.median:.1f} ms", work=f"{work}, {shown.rows:,} rows",
                higher_is_better=False,
            )  # fmt: skip


def _size_on_disk(directory: Path) -> str:
    total = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return f"{total / 2**20:,.0f} MB on disk"


def _named(page: Page, names: str) -> bool:
    return any(n.strip().lower() in page.name.lower() for n in names.split(",") if n.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default="20k",
        help="approximate events of the synthetic year, e.g. 1M (default 20k); one size "
        "with --store",
    )  # fmt: skip
    parser.add_argument(
        "--store", type=Path,
        help="a directory: the year is built there once (with its views caught up) and "
        "reused on later runs; default a temporary directory, deleted afterwards",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5, help="timed requests of each (5)")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds a request may take (600)"
    )
    parser.add_argument(
        "--pages", default="", help="only the pages whose name contains one of these (a,b)"
    )
    parser.add_argument("--skip", default="", help="not the pages whose name contains one of these")
    parser.add_argument("--build-only", action="store_true", help="build --store and stop")
    parser.add_argument("--seed", type=int, default=2027, help="random seed of the firm")
    parser.add_argument("--year", type=int, default=2027, help="the synthetic year")
    args = parser.parse_args(argv)
    sizes = sorted({_size(s) for s in args.sizes.split(",") if s.strip()})
    if args.store and len(sizes) != 1:
        parser.error("--store takes one size")
    pages = [
        p
        for p in PAGES
        if (not args.pages or _named(p, args.pages)) and not (args.skip and _named(p, args.skip))
    ]
    for size in sizes:
        with contextlib.ExitStack() as stack:
            if args.store:
                store_dir = args.store
            else:
                store_dir = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="okrgov-console-"))
                )
            if (store_dir / META).exists():
                store = load_store(store_dir)
                print(
                    f"reusing {store_dir}: {store.events:,} events (built at size {store.size:,})"
                )
            else:
                store = build_store(store_dir, size, args.seed, args.year)
            if not args.build_only:
                run(store_dir, store, pages, args.repeats, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
