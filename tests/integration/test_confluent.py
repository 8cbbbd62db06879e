"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against the broker: acks=all producer with
delivery reports, assign()-based consumer (no group: groups are not implemented), AdminClient
create_topics once the broker advertises CreateTopics."""

import time
import zlib

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from helpers import (consume_range, consumer, produce_all, producer, require_api, unique_topic,
                     wait_for)

PARTITIONS = 3


def test_acks_all_delivery_reports_and_assign_consumer_reads_everything(bootstrap):
    topic = unique_topic("ck")
    base_ts = int(time.time() * 1000) - 60_000
    msgs = []
    for i in range(5000):
        key = f"key-{i}".encode()
        value = bytes((i * 7 + j) % 256 for j in range(i % 300))  # binary, 0-299 bytes
        headers = [("seq", str(i).encode()), ("bin", b"\x00\xff\x01"), ("dup", b"1"),
                   ("dup", b"2")]
        msgs.append((topic, None, key, value, headers, base_ts + i))
    msgs.append((topic, None, None, b"no key", None, base_ts))       # null key
    msgs.append((topic, None, b"null-value", None, None, base_ts))   # null value (tombstone)

    p = producer(bootstrap, acks="all")
    reports = produce_all(p, msgs)
    errors = [(i, err) for i, (err, _, _) in enumerate(reports) if err is not None]
    assert not errors, errors[:10]

    # Delivery reports: offsets per partition are exactly 0..n-1, in production order.
    by_partition = {}
    for i, (_, part, off) in enumerate(reports):
        by_partition.setdefault(part, []).append((off, i))
    assert sorted(by_partition) == list(range(PARTITIONS))
    for part, offs in by_partition.items():
        assert [o for o, _ in offs] == list(range(len(offs))), f"partition {part} offsets"
    for i, m in enumerate(msgs[:5000]):
        assert reports[i][1] == zlib.crc32(m[2]) % PARTITIONS, "keyed message in wrong partition"

    got = consume_range(bootstrap, topic, range(PARTITIONS))
    assert sum(len(v) for v in got.values()) == len(msgs)
    where = {(part, off): i for i, (_, part, off) in enumerate(reports)}
    for part, ms in got.items():
        assert [m.offset() for m in ms] == list(range(len(ms))), f"partition {part}"
        for m in ms:
            i = where[(part, m.offset())]
            _, _, key, value, headers, ts = msgs[i]
            assert m.key() == key, i
            assert m.value() == value, i
            assert (m.headers() or []) == (headers or []), i
            assert m.timestamp() == (ck.TIMESTAMP_CREATE_TIME, ts), i


def test_assign_at_explicit_and_logical_offsets(bootstrap):
    topic = unique_topic("ck-assign")
    p = producer(bootstrap)
    reports = produce_all(p, [(topic, 0, None, f"v{i}".encode(), None, None)
                              for i in range(100)])
    assert [off for _, _, off in reports] == list(range(100))

    def first_message(offset):
        c = consumer(bootstrap, auto_offset_reset="earliest")
        try:
            c.assign([ck.TopicPartition(topic, 0, offset)])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is not None and not m.error():
                    return m.offset(), m.value()
                assert m is None or m.error().code() == ck.KafkaError._PARTITION_EOF, m.error()
            raise AssertionError(f"nothing consumed from offset {offset}")
        finally:
            c.close()

    assert first_message(0) == (0, b"v0")
    assert first_message(57) == (57, b"v57")
    assert first_message(99) == (99, b"v99")
    assert first_message(ck.OFFSET_BEGINNING) == (0, b"v0")

    # OFFSET_END: nothing until something new is produced, which the long poll then delivers.
    c = consumer(bootstrap)
    try:
        c.assign([ck.TopicPartition(topic, 0, ck.OFFSET_END)])

        def at_end():
            m = c.poll(0.5)
            assert m is None or m.error(), f"consumed {m.value()!r} at offset {m.offset()}"
            return m is not None and m.error().code() == ck.KafkaError._PARTITION_EOF

        # The EOF event says OFFSET_END was resolved and the fetcher waits at the end.
        wait_for(at_end, 20, "partition EOF after assign(OFFSET_END)")
        produce_all(p, [(topic, 0, None, b"late", None, None)])
        got = wait_for(lambda: next((x for x in [c.poll(0.5)]
                                     if x is not None and not x.error()), None),
                       20, "the message produced after assign(OFFSET_END)")
        assert (got.offset(), got.value()) == (100, b"late")
    finally:
        c.close()


def test_admin_create_topics(bootstrap):
    require_api(bootstrap, kafka_wire.CREATE_TOPICS)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    name = unique_topic("ck-created")
    futures = admin.create_topics([NewTopic(name, num_partitions=5, replication_factor=1)],
                                  operation_timeout=10, request_timeout=15)
    futures[name].result(timeout=30)  # raises on a topic error

    md = admin.list_topics(topic=name, timeout=10)
    assert name in md.topics and md.topics[name].error is None, md.topics.get(name)
    assert sorted(md.topics[name].partitions) == list(range(5))

    # Usable: the last partition takes and returns data.
    p = producer(bootstrap)
    (err, part, off), = produce_all(p, [(name, 4, b"k", b"in partition 4", None, None)])
    assert (err, part, off) == (None, 4, 0)
    got = consume_range(bootstrap, name, [4])
    assert [m.value() for m in got[4]] == [b"in partition 4"]

    # Creating it again fails with TOPIC_ALREADY_EXISTS.
    again = admin.create_topics([NewTopic(name, num_partitions=5, replication_factor=1)],
                                request_timeout=15)
    with pytest.raises(ck.KafkaException) as e:
        again[name].result(timeout=30)
    assert e.value.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS, e.value

    # validate_only creates nothing.
    dry = unique_topic("ck-dry")
    admin.create_topics([NewTopic(dry, num_partitions=2, replication_factor=1)],
                        validate_only=True, request_timeout=15)[dry].result(timeout=30)
    md = admin.list_topics(timeout=10)
    assert dry not in md.topics, "validate_only created the topic"
