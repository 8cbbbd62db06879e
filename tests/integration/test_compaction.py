"""Log compaction as clients see it (docs/formats/compaction.md): a topic created with
cleanup.policy=compact through the admin client, many updates per key, and after the cleaner
has run a consumer reading from the beginning gets the newest value of each key (plus whatever
still sits in segments the cleaner has not reached), at offsets that only increase, with gaps.
Records without a key are refused. __consumer_offsets is compacted too, and committed offsets
read back the same after a restart on the cleaned log."""

import time

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, TopicPartition

import kafka_wire
from helpers import (consume_range, kcat_consume, produce_all, producer, unique_topic,
                     wait_for)

KEYS = 40
ROUNDS = 15
CLEANER_FLAGS = ("--cleaner-backoff-ms", "200", "--offsets-segment-bytes", "2048",
                 "--group-initial-rebalance-delay-ms", "0")


def create_compacted(bootstrap, topic, **extra):
    config = {"cleanup.policy": "compact", "segment.bytes": "2048",
              "min.cleanable.dirty.ratio": "0.01"}
    config.update(extra)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                            config=config)], operation_timeout=10)
    futures[topic].result(timeout=20)


def record_count(bootstrap, topic):
    """Records a read from the beginning returns now (kafka_wire: raw Fetch, all batches)."""
    n = 0
    with kafka_wire.Conn.to(bootstrap) as c:
        offset = 0
        while True:
            p = c.fetch(topic, 0, offset)
            assert p.error_code == 0, p
            if not p.batches:
                return n
            for b in p.batches:
                n += b.record_count
                offset = b.last_offset + 1


def wait_settled(bootstrap, topic, quiet_s=1.5):
    """Until a read from the beginning has returned the same record count for quiet_s: the
    cleaner has done what it can (several passes at --cleaner-backoff-ms 200)."""
    last = [record_count(bootstrap, topic), time.monotonic()]

    def settled():
        now = record_count(bootstrap, topic)
        if now != last[0]:
            last[:] = [now, time.monotonic()]
        return time.monotonic() - last[1] >= quiet_s

    wait_for(settled, 60, "the cleaner to settle")


def check_compacted(messages, produced):
    """`messages`: (offset, key, value) as consumed; `produced`: (offset, key, value) in order.
    The cleaner has cleaned some prefix [0, E) of the log (E: a segment boundary it stopped at,
    before the active segment): below E exactly the newest record of each key among those
    below E remains, from E on everything does. Some E must explain what was read."""
    offsets = [o for o, _, _ in messages]
    assert offsets == sorted(set(offsets)), "offsets must strictly increase"
    by_offset = {o: (k, v) for o, k, v in produced}
    for o, k, v in messages:
        assert by_offset[o] == (k, v), f"offset {o} holds {(k, v)}, produced {by_offset[o]}"
    got = set(offsets)
    newest_below = {}  # key -> offset of its newest record below the candidate E
    for e in [o for o, _, _ in produced] + [produced[-1][0] + 1]:
        expected = set(newest_below.values()) | {o for o, _, _ in produced if o >= e}
        if expected == got:
            return len(messages)
        k = by_offset.get(e, (None,))[0]
        if k is not None:
            newest_below[k] = e
    raise AssertionError(f"no cleaned prefix explains the {len(messages)} records read: "
                         f"{offsets[:20]}...")


@pytest.mark.timeout(180)
def test_compacted_topic_keeps_the_newest_value_per_key(make_broker):
    b = make_broker(*CLEANER_FLAGS)
    topic = unique_topic("compact")
    create_compacted(b.bootstrap, topic)
    p = producer(b.bootstrap, linger_ms=0, batch_num_messages=4)
    messages = []
    for r in range(ROUNDS):
        for k in range(KEYS):
            messages.append((topic, 0, b"key-%03d" % k, b"round-%02d-" % r + b"x" * 40, None,
                             None))
    # Some keys deleted at the end: tombstones stay for delete.retention.ms (24 h), so they are
    # the newest record of their key.
    for k in range(0, KEYS, 10):
        messages.append((topic, 0, b"key-%03d" % k, None, None, None))
    reports = produce_all(p, messages)
    assert all(err is None for err, _, _ in reports), reports[:3]
    produced = [(off, m[2], m[3]) for (err, _, off), m in zip(reports, messages)]

    # A record without a key is refused (Kafka: INVALID_RECORD / CORRUPT_MESSAGE).
    refused = produce_all(p, [(topic, 0, None, b"no key", None, None)])
    err = refused[0][0]
    assert err is not None and err.name() in ("INVALID_RECORD", "CORRUPT_MESSAGE"), err

    total = len(produced)
    # The cleaner runs every 200 ms; it leaves the active segment alone.
    wait_for(lambda: record_count(b.bootstrap, topic) < total // 3, 60,
             "the cleaner to remove most of the older values")
    wait_settled(b.bootstrap, topic)

    lo, hi = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "wm"}) \
        .get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10)
    assert (lo, hi) == (0, total), (lo, hi)
    got = consume_range(b.bootstrap, topic, [0])[0]
    n = check_compacted([(m.offset(), m.key(), m.value()) for m in got], produced)
    assert n < total // 3

    # kcat (librdkafka, CRCs checked) reads the same.
    k = kcat_consume(b.bootstrap, topic)
    assert [r["offset"] for r in k] == [m.offset() for m in got]

    # kafka-python (pure Python, its own batch decoder) too.
    kp = KafkaConsumer(bootstrap_servers=b.bootstrap, auto_offset_reset="earliest",
                       enable_auto_commit=False, consumer_timeout_ms=3000)
    kp.assign([TopicPartition(topic, 0)])
    kp.seek_to_beginning()
    kp_offsets = [m.offset for m in kp]
    kp.close()
    assert kp_offsets == [m.offset() for m in got]

    # New updates after cleaning land after the old end and are read too.
    more = produce_all(p, [(topic, 0, b"key-001", b"after", None, None)])
    assert more[0][2] == total
    produced.append((total, b"key-001", b"after"))
    wait_settled(b.bootstrap, topic)
    again = consume_range(b.bootstrap, topic, [0])[0]
    assert again[-1].offset() == total and again[-1].value() == b"after"
    check_compacted([(m.offset(), m.key(), m.value()) for m in again], produced)

    # A restart (clean, then SIGKILL) serves the same cleaned log.
    for how in ("clean", "sigkill"):
        b.restart(keep_port=True, how=how)
        after = consume_range(b.bootstrap, topic, [0])[0]
        assert [(m.offset(), m.value()) for m in after] == \
            [(m.offset(), m.value()) for m in again]


@pytest.mark.timeout(180)
def test_alter_configs_turns_compaction_on(make_broker):
    b = make_broker(*CLEANER_FLAGS)
    topic = unique_topic("later")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "2048"})],
                        operation_timeout=10)[topic].result(timeout=20)
    p = producer(b.bootstrap, linger_ms=0, batch_num_messages=4)
    msgs = [(topic, 0, b"k%d" % (i % 5), b"v%03d" % i + b"y" * 50, None, None)
            for i in range(300)]
    reports = produce_all(p, msgs)
    produced = [(off, m[2], m[3]) for (_, _, off), m in zip(reports, msgs)]
    time.sleep(1)  # several cleaner periods: a delete-policy topic is left alone
    assert record_count(b.bootstrap, topic) == len(msgs)
    res = ck.admin.ConfigResource(ck.admin.ConfigResource.Type.TOPIC, topic,
                                  set_config={"cleanup.policy": "compact,delete",
                                              "segment.bytes": "2048",
                                              "min.cleanable.dirty.ratio": "0.01"})
    admin.alter_configs([res])[res].result(timeout=20)
    wait_for(lambda: record_count(b.bootstrap, topic) < 60, 60, "the cleaner after AlterConfigs")
    wait_settled(b.bootstrap, topic)
    got = consume_range(b.bootstrap, topic, [0])[0]
    check_compacted([(m.offset(), m.key(), m.value()) for m in got], produced)
    desc = admin.describe_configs([ck.admin.ConfigResource("topic", topic)])
    configs = {k: v.value for k, v in list(desc.values())[0].result(timeout=20).items()}
    assert configs["cleanup.policy"] == "compact,delete", configs


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_committed_offsets_survive_a_restart_on_a_compacted_offsets_log(make_broker, how):
    b = make_broker(*CLEANER_FLAGS)
    topic, group = unique_topic("co"), "compacted-offsets-" + how
    produce_all(producer(b.bootstrap), [(topic, p, b"k", b"v", None, None)
                                        for p in range(3) for _ in range(5)])
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                     "enable.auto.commit": False})
    commits = 0
    try:
        for i in range(200):
            offs = [ck.TopicPartition(topic, p, 1 + i * 3 + p) for p in range(3)]
            c.commit(offsets=offs, asynchronous=False)
            commits += 3
    finally:
        c.close()
    wait_for(lambda: record_count(b.bootstrap, "__consumer_offsets") < commits // 3, 60,
             "the cleaner to compact __consumer_offsets")
    b.restart(keep_port=True, how=how)
    expected = {p: 1 + 199 * 3 + p for p in range(3)}
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group})
    try:
        committed = c.committed([ck.TopicPartition(topic, p) for p in range(3)], timeout=20)
        assert {tp.partition: tp.offset for tp in committed} == expected
    finally:
        c.close()
