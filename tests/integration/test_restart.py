"""Durability across restarts: a clean stop (SIGTERM) keeps everything, and a SIGKILL in the
middle of an acks=all stream loses no acknowledged message (short version; test_crash.py runs
the long one)."""

import re

import kafka_wire
from helpers import AckedLoad, consume_range, kcat, produce_all, producer, unique_topic

PARTITIONS = 3


def snapshot(bootstrap, topic, partitions=range(PARTITIONS)):
    got = consume_range(bootstrap, topic, partitions)
    return {p: [(m.offset(), m.key(), m.value(), m.headers(), m.timestamp()) for m in ms]
            for p, ms in got.items()}


def recovery_summary(log):
    m = re.search(r"(\d+) partition\(s\), \d+ bytes; (\d+) recovered after an unclean shutdown",
                  log)
    assert m, f"no storage summary line in the broker log:\n{log}"
    return int(m.group(1)), int(m.group(2))


def test_data_survives_clean_restart(broker):
    topic = unique_topic("restart")
    sparse = unique_topic("sparse")
    kcat(broker.bootstrap, "-P", "-t", topic, "-K:", "-H", "h=1", "-z", "gzip",
         input=b"".join(b"key%d:value %d\n" % (i, i) for i in range(20000)))
    p = producer(broker.bootstrap)
    produce_all(p, [(topic, i % PARTITIONS, b"ck%d" % i, b"x" * i, [("n", b"%d" % i)],
                     1_600_000_000_000 + i) for i in range(500)])
    produce_all(p, [(sparse, 0, None, b"only partition 0", None, None)])
    p.flush(10)
    before = snapshot(broker.bootstrap, topic)
    assert sum(len(v) for v in before.values()) == 20500

    # Restart with a different default partition count: existing topics keep theirs.
    broker.stop()
    broker.args = ["--num-partitions", "1"]
    broker.start()
    n_partitions, unclean = recovery_summary(broker.log())
    assert n_partitions >= 2 * PARTITIONS
    assert unclean == 0, "a SIGTERM stop was recovered as an unclean shutdown"

    assert snapshot(broker.bootstrap, topic) == before
    with kafka_wire.Conn.to(broker.bootstrap) as c:
        md = c.metadata([topic, sparse])
    assert md[topic] == (0, list(range(PARTITIONS)))
    assert md[sparse] == (0, list(range(PARTITIONS))), "the empty partitions were lost"

    # Appends continue at the old end offsets (a new producer: the port changed).
    p = producer(broker.bootstrap)
    reports = produce_all(p, [(topic, part, None, b"after", None, None)
                              for part in range(PARTITIONS)])
    for err, part, off in reports:
        assert err is None and off == len(before[part]), (err, part, off)
    after = snapshot(broker.bootstrap, topic)
    for part in range(PARTITIONS):
        assert after[part][:-1] == before[part]
        assert after[part][-1][2] == b"after"


def test_acknowledged_writes_survive_sigkill_under_load(broker):
    topic = unique_topic("kill")
    load = AckedLoad(broker.bootstrap, topic)
    load.run_until(lambda: load.acked_count >= 20000, on_reached=broker.kill)
    assert load.acked_count >= 20000
    broker.start()
    _, unclean = recovery_summary(broker.log())
    assert unclean >= 1, "a SIGKILLed broker reported only clean shutdowns"
    got = load.check_survived(broker.bootstrap, range(PARTITIONS))

    # The recovered log takes new appends after its (possibly cut) tail.
    p = producer(broker.bootstrap)
    reports = produce_all(p, [(topic, part, None, b"after", None, None)
                              for part in range(PARTITIONS)])
    for err, part, off in reports:
        assert err is None and off == len(got[part]), (err, part, off)
