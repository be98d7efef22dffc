"""The demo quarter is the one the README promises: four aligned objectives, thirteen
weekly check-ins, one approved and one rejected change request, closed and scored."""

from services.application.demo import WEEKS, load_demo
from services.bootstrap import Platform


def test_demo_quarter(platform: Platform) -> None:
    cycle_id = load_demo(platform.ledger)
    platform.catch_up()
    state = platform.okr_state
    cycle = state.get("cycle", str(cycle_id))
    assert cycle is not None and cycle["state"] == "closed"
    objectives = state.find("objective", str(cycle_id))
    firm = objectives[0]
    assert firm["title"].startswith("Strengthen our operational infrastructure")
    assert [o["parent_id"] for o in objectives[1:]] == [firm["id"]] * 3
    key_results = [kr for o in objectives for kr in state.find("key_result", o["id"])]
    assert len(key_results) == 9
    assert {kr["check_in_count"] for kr in key_results} == {WEEKS}
    assert all(kr["score"] is not None for kr in key_results)
    assert all(o["score"] is not None for o in objectives)
    turnaround = next(kr for kr in key_results if kr["title"] == "LP reporting turnaround")
    assert turnaround["target"] == 10.0
    requests = [cr for kr in key_results for cr in state.find("change_request", kr["id"])]
    assert sorted(cr["status"] for cr in requests) == ["applied", "rejected"]
