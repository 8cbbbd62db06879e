"""Group metadata survives a broker restart (docs/formats/group-records.md): after a clean stop
or a SIGKILL, the restarted broker knows each group's generation, leader, members and
assignments, so members carry on heartbeating and committing with their generation — no
rebalance — and members that do not come back expire after their session timeout.
"""

import time

import pytest

import kafka_wire
from helpers import unique_topic, wait_for
from test_groups import Load, describe, fill, members, unique_group  # noqa: F401 (fixture)

SESSION_MS = 6000


@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_generation_members_and_assignment_survive_a_restart(make_broker, how):
    b = make_broker("--group-initial-rebalance-delay-ms", "0")
    group, gone_group = unique_group("keep"), unique_group("gone")
    with kafka_wire.Conn.to(b.bootstrap, timeout=20) as c:
        # Two generations, so a restored group that restarted counting would show.
        first = c.join_group(group, session_timeout_ms=SESSION_MS, version=2)
        assert first.error_code == 0, first
        assert c.sync_group(group, first.generation_id, first.member_id,
                            [(first.member_id, b"old")])[0] == 0
        j = c.join_group(group, member_id=first.member_id, protocols=(("range", b"v2"),),
                         session_timeout_ms=SESSION_MS, version=2)
        assert j.error_code == 0 and j.generation_id == first.generation_id + 1, j
        assert c.sync_group(group, j.generation_id, j.member_id,
                            [(j.member_id, b"assignment-2")]) == (0, b"assignment-2")
        # A member of another group that will not come back after the restart.
        g = c.join_group(gone_group, session_timeout_ms=SESSION_MS, version=2)
        assert c.sync_group(gone_group, g.generation_id, g.member_id, [(g.member_id, b"")])[0] == 0
    state, protocol, ms = describe(b.bootstrap, group)
    assert (state, protocol, [m.id for m in ms]) == ("Stable", "range", [j.member_id])

    b.restart(keep_port=True, how=how)

    with kafka_wire.Conn.to(b.bootstrap, timeout=20) as c:
        assert c.heartbeat(group, j.generation_id, j.member_id) == kafka_wire.ERR_NONE
        assert c.heartbeat(group, j.generation_id - 1, j.member_id) == \
            kafka_wire.ERR_ILLEGAL_GENERATION
        # SyncGroup in a Stable group hands back the stored assignment.
        assert c.sync_group(group, j.generation_id, j.member_id) == (0, b"assignment-2")
        state, protocol, ms = describe(b.bootstrap, group)
        assert (state, protocol) == ("Stable", "range")
        assert [(m.id, m.client_id, m.assignment) for m in ms] == \
            [(j.member_id, "spate-integration", b"assignment-2")]
        if how == "sigkill":
            # Expiry after a restart is the same either way; the clean run waits for it.
            assert c.leave_group(group, j.member_id) == 0
            return
        # Keep the survivor alive while the other group's member expires.
        deadline = time.monotonic() + SESSION_MS / 1000 + 20
        while describe(b.bootstrap, gone_group)[0] != "Empty":
            assert time.monotonic() < deadline, describe(b.bootstrap, gone_group)
            assert c.heartbeat(group, j.generation_id, j.member_id) == kafka_wire.ERR_NONE
            time.sleep(0.5)
        assert c.heartbeat(group, j.generation_id, j.member_id) == kafka_wire.ERR_NONE
        assert c.heartbeat(gone_group, g.generation_id, g.member_id) == \
            kafka_wire.ERR_UNKNOWN_MEMBER_ID
        assert c.leave_group(group, j.member_id) == 0
    # The Empty states are durable as well, with the generation moved on.
    b.restart(keep_port=True, how=how)
    assert describe(b.bootstrap, group)[0] == "Empty"
    assert describe(b.bootstrap, gone_group)[0] == "Empty"
    with kafka_wire.Conn.to(b.bootstrap, timeout=20) as c:
        again = c.join_group(group, session_timeout_ms=SESSION_MS, version=2)
        assert again.error_code == 0 and again.generation_id > j.generation_id, again


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_consumers_keep_going_through_a_restart_without_rebalance(make_broker, members, how):
    b = make_broker("--num-partitions", "4", "--group-initial-rebalance-delay-ms", "0")
    topic, group = unique_topic("dur"), unique_group("dur")
    delivered = fill(b.bootstrap, topic, 4, 10)
    live = [members(b.bootstrap, group, topic) for _ in range(2)]

    def stable():
        owned = [m.assigned() for m in live]
        return all(owned) and set().union(*owned) == set(range(4)) and \
            sum(len(o) for o in owned) == 4

    def consumed():
        return set().union(*(set(m.consumed()) for m in live))

    wait_for(stable, 30, "2 members sharing 4 partitions")
    wait_for(lambda: consumed() >= delivered, 30, "the first messages consumed")
    load = Load(b.bootstrap, topic, 4, rate=200)
    before = len(consumed())
    wait_for(lambda: len(consumed()) >= before + 100, 30, "consumption under load")

    # Every commit acknowledged before the restart is durable (synced before the answer):
    # nothing below it may be handed out again.
    floor = {}
    for m in live:
        for p, o in m.committed().items():
            floor[p] = max(floor.get(p, -1), o)
    marks = {m.name: len(m.events()) for m in live}
    b.restart(keep_port=True, how=how)
    after = len(consumed())
    wait_for(lambda: len(consumed()) >= after + 200, 40,
             "consumption going on after the restart: " + "; ".join(m.describe() for m in live))
    delivered |= load.stop()
    wait_for(lambda: consumed() >= delivered, 40, "everything produced consumed")
    for m in live:
        later = m.events()[marks[m.name]:]
        # No rebalance: nobody was assigned or revoked anything after the restart.
        churn = [ev for ev in later if ev[0] in ("A", "R")]
        assert not churn, f"{m.name} rebalanced after the restart: {churn}; {m.describe()}"
        re_read = [(int(ev[1]), int(ev[2])) for ev in later
                   if ev[0] == "M" and int(ev[2]) < floor.get(int(ev[1]), 0)]
        assert not re_read, f"{m.name} re-read below the acknowledged commits {floor}: {re_read}"
        assert not m.failed_commits(), m.describe()
    state, _, ms = describe(b.bootstrap, group)
    assert state == "Stable" and len(ms) == 2, (state, ms)
    for m in live:
        m.stop()
        assert not m.errors(), m.describe()
