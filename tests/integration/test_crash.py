"""SIGKILL under load, the long version (label `slow`): several kill/restart rounds on one
data folder, for each flush policy, with small segments so kills also land near segment rolls.
A SIGKILL leaves the page cache intact, so under every policy an acknowledged (acks=all)
message must survive; only power loss may cost the `interval` and `os` policies data."""

import random
import re
import threading

import pytest

from helpers import AckedLoad, produce_all, producer, unique_topic

PARTITIONS = 3
ROUNDS = 4


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["always", "always-preallocated", "interval", "os"])
def test_acknowledged_writes_survive_repeated_sigkill(make_broker, policy):
    rnd = random.Random(f"crash-{policy}")
    # always-preallocated: segments zero-filled ahead of the appends, so a kill leaves a zero
    # tail that recovery must remove without cutting acknowledged data.
    extra = ["--preallocate-bytes", "16384"] if policy == "always-preallocated" else []
    broker = make_broker("--num-partitions", str(PARTITIONS), "--flush-policy",
                         policy.split("-")[0], "--segment-bytes", "65536", *extra)
    topic = unique_topic(f"crash-{policy}")
    acked = {}
    for rnd_no in range(ROUNDS):
        load = AckedLoad(broker.bootstrap, topic, tag=f"r{rnd_no}-")
        # Kill after a random number of acknowledgements, or after a random delay, whichever
        # comes first once at least a few hundred are in: both land mid-stream.
        target = rnd.randrange(2000, 40000)
        timer_fired = threading.Event()
        timer = threading.Timer(rnd.uniform(0.2, 2.0), timer_fired.set)
        timer.start()
        try:
            load.run_until(lambda: load.acked_count >= target or
                           (timer_fired.is_set() and load.acked_count >= 300),
                           on_reached=broker.kill)
        finally:
            timer.cancel()
        assert load.acked_count >= 300
        for where, kv in load.acked.items():
            assert where not in acked, f"offset {where} acknowledged in two rounds"
            acked[where] = kv
        broker.start()
        m = re.search(r"(\d+) recovered after an unclean shutdown", broker.log())
        assert m and int(m.group(1)) >= 1, "the SIGKILL was not seen as an unclean shutdown"
        load.check_survived(broker.bootstrap, range(PARTITIONS), acked=acked)

    # After the last recovery the log still takes appends and stops cleanly (fixture teardown).
    p = producer(broker.bootstrap)
    reports = produce_all(p, [(topic, part, None, b"final", None, None)
                              for part in range(PARTITIONS)])
    assert all(err is None for err, _, _ in reports), reports
