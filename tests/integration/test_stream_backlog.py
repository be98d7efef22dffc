"""The lag of each Kafka partition counted from the store: exactly the events of that
partition after its tracked position, kept up to date by reading only what is new, read
again from the start when a view goes back (a rebuild); and the log's lag warnings, once
per crossing."""

from collections import Counter
from uuid import UUID

from kafka.partitioner.default import DefaultPartitioner
from quarter import TOM, plan_quarter
from structlog.testing import capture_logs

from infra.stored_events import StoredEvents
from services.bootstrap import Platform
from services.workers.stream_alarms import LagAlarm
from services.workers.stream_health import Backlog, Lag, StreamStore, partition_of

PARTITIONS = 4


class _Cluster:
    """What kafka-python's default partitioner asks of the cluster."""

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


def settled(backlog: Backlog, tracked: dict[int, int]) -> dict[int, Lag]:
    """Update until the backlog has read up to the head (``limit`` rows at a time)."""
    for _ in range(100):
        lags = backlog.update(tracked)
        if not any(lag.at_least for lag in lags.values()):
            return lags
    raise AssertionError("the backlog never reached the head")


def test_each_partition_lags_by_exactly_its_own_events(platform: Platform) -> None:
    _, _, key_result = plan_quarter(platform)
    store = StreamStore(platform.ledger.recorder, platform.ledger.mapper)
    rows = list(StoredEvents(platform.ledger.recorder).rows())
    producer = DefaultPartitioner()
    for row in rows:  # the relay's producer puts each aggregate where we count it
        key = str(UUID(row.originator_id or "")).encode()
        expected = producer.partition("t", key, key, None, None, _Cluster())
        assert partition_of(row.originator_id or "", PARTITIONS) == expected
    per_partition = Counter(partition_of(r.originator_id or "", PARTITIONS) for r in rows)

    backlog = Backlog(store, PARTITIONS, limit=7)  # a small page: several updates to the head
    nothing = dict.fromkeys(range(PARTITIONS), 0)
    first = backlog.update(nothing)
    assert any(lag.at_least for lag in first.values())
    lags = settled(backlog, nothing)
    assert {p: lag.events for p, lag in lags.items()} == {
        p: per_partition.get(p, 0) for p in range(PARTITIONS)
    }
    assert all(lag.seconds > 0 for lag in lags.values() if lag.events)

    # Every partition applied up to the head: nothing lags, in events or seconds.
    head = store.head()
    caught_up = backlog.update(dict.fromkeys(range(PARTITIONS), head))
    assert set(caught_up.values()) == {Lag(0, 0.0)}

    # New events count on their own partition only, read without going back.
    platform.ledger.check_in(TOM, key_result.id, 12, 0.5, "a new week")
    later = store.head()
    fresh = list(StoredEvents(platform.ledger.recorder).rows(after=head))
    expected_new = Counter(partition_of(r.originator_id or "", PARTITIONS) for r in fresh)
    lags = backlog.update(dict.fromkeys(range(PARTITIONS), head))
    assert {p: lag.events for p, lag in lags.items()} == {
        p: expected_new.get(p, 0) for p in range(PARTITIONS)
    }
    assert sum(lag.events for lag in lags.values()) == later - head

    # A view that goes back (rebuilt) is counted again from its new position.
    lags = settled(backlog, {**dict.fromkeys(range(PARTITIONS), later), 0: 0})
    assert lags[0].events == per_partition.get(0, 0) + expected_new.get(0, 0)
    assert all(lags[p].events == 0 for p in range(1, PARTITIONS))


def test_a_lag_warns_once_when_it_passes_the_threshold_and_once_when_it_is_back() -> None:
    alarm = LagAlarm(10.0, process="projector")
    with capture_logs() as logs:
        alarm.update(Lag(3, 2.0), now=100.0)
        alarm.update(Lag(30, 11.0), now=101.0)
        alarm.update(Lag(40, 25.0), now=110.0)  # still over: no second warning
        alarm.update(Lag(2, 12.0), now=112.0)
        alarm.update(Lag(0, 0.0), now=116.5)
        alarm.update(Lag(0, 0.0), now=117.0)
    assert [entry["event"] for entry in logs] == ["stream.lagging", "stream.lag_recovered"]
    assert logs[0]["lag_events"] == 30 and logs[0]["process"] == "projector"
    assert logs[1]["lasted_seconds"] == 15.5
