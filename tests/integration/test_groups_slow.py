"""Consumer groups under disruption, the slow part: live group members (group_member.py
processes) while the broker restarts under load, then while members are SIGKILLed and
replaced, round after round. Nothing produced may be missed, and after a restart no member may
be handed a message below an offset whose commit the broker had acknowledged.
"""


import pytest

from helpers import unique_topic, wait_for
from test_groups import Load, SESSION_MS, fill, members, unique_group  # noqa: F401 (fixture)


def acked_commits(ms):
    """{partition: highest acknowledged committed offset} over all members."""
    out = {}
    for m in ms:
        for p, o in m.committed().items():
            out[p] = max(out.get(p, -1), o)
    return out


def all_consumed(ms):
    got = set()
    for m in ms:
        got.update(m.consumed())
    return got


@pytest.mark.timeout(240)
def test_members_survive_broker_restarts_and_kills(make_broker, members):
    b = make_broker("--num-partitions", "6")
    topic, group = unique_topic("slow"), unique_group("slow")
    delivered = fill(b.bootstrap, topic, 6, 20)
    live = [members(b.bootstrap, group, topic) for _ in range(3)]
    everyone = list(live)

    def stable():
        owned = [m.assigned() for m in live]
        return all(owned) and sum(len(o) for o in owned) == 6 and set().union(*owned) == \
            set(range(6))

    wait_for(stable, 30, "3 members sharing 6 partitions")
    load = Load(b.bootstrap, topic, 6, rate=200)
    for rnd in range(3):
        # Broker restart on the same port while members consume and the producer writes.
        before = len(all_consumed(everyone))
        wait_for(lambda: len(all_consumed(everyone)) >= before + 100, 30,
                 f"round {rnd}: consumption before the restart")
        b.restart(keep_port=True)
        # Every commit acknowledged before the restart is durable: nothing below it may be
        # handed out again. Positions in each member's event file mark "after".
        floor = acked_commits(everyone)
        marks = {m.name: len(m.events()) for m in everyone}
        wait_for(stable, 60, f"round {rnd}: the group re-forming after the restart: "
                 + "; ".join(m.describe() for m in live))
        after = len(all_consumed(everyone))
        wait_for(lambda: len(all_consumed(everyone)) >= after + 100, 30,
                 f"round {rnd}: consumption after the restart")
        for m in everyone:
            re_read = [(int(ev[1]), int(ev[2])) for ev in m.events()[marks[m.name]:]
                       if ev[0] == "M" and int(ev[2]) < floor.get(int(ev[1]), 0)]
            assert not re_read, (f"round {rnd}: {m.name} got offsets below the acknowledged "
                                 f"commits {floor} after the restart: {re_read[:10]}")
        # A member is SIGKILLed and replaced by a new process.
        victim = live.pop(0)
        victim.kill()
        fresh = members(b.bootstrap, group, topic)
        everyone.append(fresh)
        live.append(fresh)
        wait_for(stable, SESSION_MS / 1000 + 30, f"round {rnd}: the group re-forming after a "
                 "kill: " + "; ".join(m.describe() for m in live))
    delivered |= load.stop()
    try:
        wait_for(lambda: delivered <= all_consumed(everyone), 60,
                 f"all {len(delivered)} produced messages consumed")
    except AssertionError:
        missing = sorted(delivered - all_consumed(everyone))
        raise AssertionError(f"{len(missing)} of {len(delivered)} never consumed, e.g. "
                             f"{missing[:10]}; " + "; ".join(m.describe() for m in everyone))
    for m in live:
        m.stop()
        assert not m.errors(), m.describe()
