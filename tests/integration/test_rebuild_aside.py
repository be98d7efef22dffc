"""A rebuild replays every read model aside in one pass over the store, the audit trail's
entries without their secondary indexes (only written, then copied whole into the live
view), and switches them in: the live views keep their rows and their indexes. Both
backends."""

from quarter import TOM, plan_quarter

from projections.entries import EntryView
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE
from services.bootstrap import Platform, document_view

COLUMNS = ("aggregate", "objective", "actor", "action", "at", "flagged")


def _indexes(view: EntryView, table: str) -> set[str]:
    with view.transaction(commit=False) as c:
        if view.placeholder == "?":
            c.execute(f"PRAGMA index_list({table})")
            return {row["name"] for row in c.fetchall()}
        c.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname=%s AND tablename=%s",
            (view.datastore.schema, table),
        )
        return {row["indexname"] for row in c.fetchall()}


def test_an_aside_view_drops_its_entries_indexes(platform: Platform) -> None:
    aside = document_view(platform.ledger, "audit_rebuild", entries=True)
    assert isinstance(aside, EntryView)
    assert {f"audit_rebuild_entries_{c}" for c in COLUMNS} <= _indexes(
        aside, "audit_rebuild_entries"
    )
    aside.drop_indexes()
    assert not {f"audit_rebuild_entries_{c}" for c in COLUMNS} & _indexes(
        aside, "audit_rebuild_entries"
    )
    aside.drop()


def test_a_rebuild_keeps_the_live_rows_and_indexes_in_one_pass(platform: Platform) -> None:
    _, _, key_result = plan_quarter(platform)
    for week in range(5):
        platform.ledger.check_in(TOM, key_result.id, 15 - week, 0.6, f"week {week}")
    platform.catch_up()
    views = (OKR_STATE, GOVERNANCE, AUDIT)
    before = {name: platform.projections.view(name).dump() for name in views}
    entries = platform.audit.dump_entries()
    head = platform.ledger.recorder.max_notification_id() or 0

    rebuilt = platform.rebuild()

    assert [(r.projection, r.events, r.position) for r in rebuilt] == [
        (name, head, head) for name in views
    ]
    assert {name: platform.projections.view(name).dump() for name in views} == before
    assert platform.audit.dump_entries() == entries
    assert {f"audit_entries_{c}" for c in COLUMNS} <= _indexes(platform.audit, "audit_entries")
