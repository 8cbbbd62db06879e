"""`spate group list|describe|delete|reset-offsets` against a real broker, with groups made by
real confluent-kafka consumers. Every figure the CLI prints is computed again here from what the
test produced and committed: lag from the offsets, lag in seconds from record timestamps the
test chose (hours in the past, so the figure cannot be confused with the run's own timing).
"""

import json
import subprocess
import time

import confluent_kafka as ck
import pytest

from conftest import spate_binary
from helpers import produce_all, producer, unique_topic, wait_for
from test_groups import group_consumer, unique_group

HOUR_MS = 3600 * 1000


def spate(broker, *args, timeout=60):
    cmd = [spate_binary(), *args, "--bootstrap", broker.bootstrap, "--timeout-ms", "10000"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def spate_json(broker, *args):
    r = spate(broker, *args, "--json")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


@pytest.fixture
def gbroker(make_broker):
    # No initial rebalance delay: groups form as soon as their first member joins.
    return make_broker("--num-partitions", "2", "--group-initial-rebalance-delay-ms", "0")


def now_ms():
    return int(time.time() * 1000)


def fill_timed(bootstrap, topic, partitions, count, base_ts):
    """count records per partition; record i of every partition has timestamp base_ts + i s."""
    msgs = [(topic, p, None, f"v{p}-{i}".encode(), None, base_ts + i * 1000)
            for i in range(count) for p in range(partitions)]
    reports = produce_all(producer(bootstrap), msgs)
    assert all(err is None for err, _, _ in reports), [r for r in reports if r[0]][:3]


def join_and_commit(bootstrap, group, topic, offsets):
    """A live member of `group` subscribed to `topic` that has committed {partition: offset}."""
    c = group_consumer(bootstrap, group)
    c.subscribe([topic])
    deadline = time.monotonic() + 30
    while not c.assignment():
        assert time.monotonic() < deadline, "no assignment within 30 s"
        c.poll(0.2)
    c.commit(offsets=[ck.TopicPartition(topic, p, o) for p, o in offsets.items()],
             asynchronous=False)
    return c


def committed(bootstrap, group, topic, partitions):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        got = c.committed([ck.TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def first_offset_read(bootstrap, group, topic, partition):
    """Joins `group`, and returns the offset of the first record it gets from `partition`."""
    c = group_consumer(bootstrap, group)
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error() and m.partition() == partition:
                return m.offset()
        raise AssertionError(f"nothing read from partition {partition} within 30 s")
    finally:
        c.close()


def test_describe_reports_members_offsets_and_lag(gbroker):
    topic, group = unique_topic("lag"), unique_group("lag")
    base = now_ms() - 2 * HOUR_MS
    fill_timed(gbroker.bootstrap, topic, 2, 10, base)
    # Partition 0: 7 of 10 consumed, so the oldest unconsumed record is number 7.
    # Partition 1: all consumed.
    c = join_and_commit(gbroker.bootstrap, group, topic, {0: 7, 1: 10})
    try:
        before = now_ms()
        d = spate_json(gbroker, "group", "describe", group)
        after = now_ms()
        assert d["group"] == group and d["state"] == "Stable", d
        assert d["assignor"] == "range"
        assert len(d["members"]) == 1
        member = d["members"][0]
        assert member["client_id"] == "rdkafka"
        assert sorted((a["topic"], a["partition"]) for a in member["assignment"]) == \
            [(topic, 0), (topic, 1)]
        rows = {r["partition"]: r for r in d["partitions"]}
        assert set(rows) == {0, 1}
        assert rows[0]["committed_offset"] == 7 and rows[0]["log_end_offset"] == 10
        assert rows[0]["lag"] == 3
        oldest = base + 7 * 1000
        assert (before - oldest) / 1000 - 0.001 <= rows[0]["lag_seconds"] <= \
            (after - oldest) / 1000 + 0.001, (rows[0], before - oldest, after - oldest)
        assert rows[1]["committed_offset"] == 10 and rows[1]["lag"] == 0
        assert rows[1]["lag_seconds"] == 0
        assert rows[0]["member_id"] == member["member_id"]

        # The text form carries the same figures.
        r = spate(gbroker, "group", "describe", group)
        assert r.returncode == 0, r.stderr
        assert "state: Stable" in r.stdout
        line = next(ln for ln in r.stdout.splitlines() if ln.startswith(topic) and
                    ln.split()[1] == "0")
        cols = line.split()
        assert cols[2:5] == ["7", "10", "3"], line
        assert abs(float(cols[5]) - rows[0]["lag_seconds"]) < 60, line

        listed = spate_json(gbroker, "group", "list")
        assert {"group": group, "state": "Stable", "simple": False} in listed, listed
        r = spate(gbroker, "group", "list")
        assert f"{group}\tStable" in r.stdout.splitlines(), r.stdout
    finally:
        c.close()
    # After the member leaves: Empty, offsets kept, no members.
    d = spate_json(gbroker, "group", "describe", group)
    assert d["state"] == "Empty" and d["members"] == []
    assert {r["partition"]: r["lag"] for r in d["partitions"]} == {0: 3, 1: 0}


def test_reset_offsets_dry_run_execute_and_resume(gbroker):
    topic, group = unique_topic("reset"), unique_group("reset")
    base = now_ms() // 1000 * 1000 - 5 * HOUR_MS  # whole seconds, for --to-datetime below
    fill_timed(gbroker.bootstrap, topic, 2, 20, base)
    join_and_commit(gbroker.bootstrap, group, topic, {0: 15, 1: 12}).close()

    # Dry run: the plan is printed, nothing changes.
    plan = spate_json(gbroker, "group", "reset-offsets", group, "--to-offset", "4")
    assert plan["executed"] is False
    assert {(p["partition"], p["current_offset"], p["new_offset"])
            for p in plan["partitions"]} == {(0, 15, 4), (1, 12, 4)}
    r = spate(gbroker, "group", "reset-offsets", group, "--to-offset", "4")
    assert r.returncode == 0 and "dry run" in r.stdout, r
    assert committed(gbroker.bootstrap, group, topic, 2) == {0: 15, 1: 12}

    # --execute, then a consumer of the group starts exactly there.
    r = spate(gbroker, "group", "reset-offsets", group, "--topic", f"{topic}:0",
              "--to-offset", "4", "--execute")
    assert r.returncode == 0, r
    assert committed(gbroker.bootstrap, group, topic, 2) == {0: 4, 1: 12}
    assert first_offset_read(gbroker.bootstrap, group, topic, 0) == 4

    # Each other way of choosing the position, checked against what the broker then holds.
    cases = [
        (["--to-earliest"], {0: 0, 1: 0}),
        (["--to-latest"], {0: 20, 1: 20}),
        (["--shift-by", "-3"], {0: 17, 1: 17}),
        (["--shift-by", "100"], {0: 20, 1: 20}),  # clamped to the log end
        # Record i has timestamp base + i s: 9.5 s after base, the first at or after is 10.
        (["--to-datetime", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 9000) / 1000))
          + ".500Z"], {0: 10, 1: 10}),
        (["--to-offset", "1000"], {0: 20, 1: 20}),
    ]
    for args, want in cases:
        r = spate(gbroker, "group", "reset-offsets", group, "--topic", topic, *args, "--execute")
        assert r.returncode == 0, (args, r)
        assert committed(gbroker.bootstrap, group, topic, 2) == want, args
    spate(gbroker, "group", "reset-offsets", group, "--to-offset", "6", "--execute")
    assert first_offset_read(gbroker.bootstrap, group, topic, 1) == 6

    # Bad arguments: exit 2, nothing changed.
    before = committed(gbroker.bootstrap, group, topic, 2)
    for args in (["--to-earliest", "--to-latest"], [], ["--to-datetime", "yesterday"],
                 ["--to-offset", "1", "--topic", f"{topic}:7"], ["--to-offset", "-1"]):
        r = spate(gbroker, "group", "reset-offsets", group, *args, "--execute")
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith("spate group reset-offsets: "), r.stderr
    assert committed(gbroker.bootstrap, group, topic, 2) == before


def test_reset_offsets_refused_while_the_group_has_members(gbroker):
    topic, group = unique_topic("busy"), unique_group("busy")
    fill_timed(gbroker.bootstrap, topic, 2, 5, now_ms())
    c = join_and_commit(gbroker.bootstrap, group, topic, {0: 3, 1: 3})
    try:
        for extra in ([], ["--execute"]):
            r = spate(gbroker, "group", "reset-offsets", group, "--to-earliest", *extra)
            assert r.returncode == 1, r
            assert "member" in r.stderr and "Stable" in r.stderr, r.stderr
        r = spate(gbroker, "group", "delete", group)
        assert r.returncode == 1 and "active members" in r.stderr, r
        assert committed(gbroker.bootstrap, group, topic, 2) == {0: 3, 1: 3}
    finally:
        c.close()


def test_delete_removes_the_group_and_its_offsets(gbroker):
    topic, group = unique_topic("del"), unique_group("del")
    fill_timed(gbroker.bootstrap, topic, 2, 5, now_ms())
    join_and_commit(gbroker.bootstrap, group, topic, {0: 5, 1: 2}).close()
    assert any(g["group"] == group for g in spate_json(gbroker, "group", "list"))
    r = spate(gbroker, "group", "delete", group)
    assert r.returncode == 0, r
    assert not any(g["group"] == group for g in spate_json(gbroker, "group", "list"))
    assert committed(gbroker.bootstrap, group, topic, 2) == {0: ck.OFFSET_INVALID,
                                                            1: ck.OFFSET_INVALID}
    # ... also after a restart (the deletion is durable).
    gbroker.restart()
    r = spate(gbroker, "group", "describe", group)
    assert r.returncode == 1 and "does not exist" in r.stderr, r


def test_unknown_group_and_broker_down(gbroker):
    for args in (["describe", "no-such-group"], ["delete", "no-such-group"],
                 ["reset-offsets", "no-such-group", "--to-earliest"]):
        r = spate(gbroker, "group", *args)
        assert r.returncode == 1, (args, r)
        assert "no-such-group" in r.stderr and "exist" in r.stderr, (args, r.stderr)
    port = gbroker.port
    gbroker.stop()
    r = subprocess.run([spate_binary(), "group", "list", "--bootstrap", f"127.0.0.1:{port}",
                        "--timeout-ms", "2000"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot reach broker" in r.stderr, r
    gbroker.start()  # the fixture expects to stop it


def test_describe_shows_static_members_instance_id(gbroker):
    # DescribeGroups v4 carries group.instance.id; librdkafka's admin client asks for it.
    topic, group = unique_topic("static"), unique_group("static")
    fill_timed(gbroker.bootstrap, topic, 2, 1, now_ms())
    c = group_consumer(gbroker.bootstrap, group, **{"group.instance.id": "shop-1"})
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while not c.assignment():
            assert time.monotonic() < deadline, "no assignment within 30 s"
            c.poll(0.2)
        d = spate_json(gbroker, "group", "describe", group)
        assert [m["group_instance_id"] for m in d["members"]] == ["shop-1"], d
        r = spate(gbroker, "group", "describe", group)
        assert "instance shop-1" in r.stdout, r.stdout
    finally:
        c.close()
