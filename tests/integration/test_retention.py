"""Retention and DeleteRecords as clients see them: the log start offset moves (ListOffsets
earliest, Fetch's log_start_offset), reading below it is OFFSET_OUT_OF_RANGE, and a client
with auto.offset.reset=earliest resumes at the new start (kafka-compat.md §9.3)."""

import re
import time

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, TopicPartition

import kafka_wire
from helpers import (consume_range, consumer, kcat, produce_all, producer, require_api,
                     unique_topic, wait_for, watermarks)

SEGMENT_BYTES = 4096
RETENTION_BYTES = 20000


def produce_small_batches(bootstrap, topic, n, size=200):
    """n messages of `size` bytes in batches of 5, so segments of 4 KiB hold several batches."""
    p = producer(bootstrap, linger_ms=0, batch_num_messages=5)
    values = [(b"%06d:" % i) + b"r" * (size - 7) for i in range(n)]
    reports = produce_all(p, [(topic, 0, None, v, None, None) for v in values])
    assert [off for _, _, off in reports] == list(range(n))
    return values


def log_start(bootstrap, topic):
    with kafka_wire.Conn.to(bootstrap) as c:
        r = c.list_offsets(topic, 0, -2)
        assert r.error_code == 0, r
        return r.offset


def wait_log_start_settles(bootstrap, topic, quiet_s=1.0, timeout=30):
    """Waits until the log start offset is > 0 and has not moved for quiet_s (several retention
    passes at --retention-check-ms 200)."""
    wait_for(lambda: log_start(bootstrap, topic) > 0, timeout, "retention to move the log start")
    last = [log_start(bootstrap, topic), time.monotonic()]

    def settled():
        now = log_start(bootstrap, topic)
        if now != last[0]:
            last[:] = [now, time.monotonic()]
        return time.monotonic() - last[1] >= quiet_s and now

    return wait_for(settled, timeout, "the log start offset to settle")


def kcat_earliest(bootstrap, topic):
    out = kcat(bootstrap, "-Q", "-t", f"{topic}:0:-2").decode()
    m = re.search(r"offset (-?\d+)", out)
    assert m, out
    return int(m.group(1))


def first_offset_kcat(bootstrap, topic):
    out = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", "1", "-f",
               "%o\n", "-X", "check.crcs=true")
    return int(out.decode().strip())


def assert_out_of_range_below(bootstrap, topic, start, values):
    """Offset 0 is out of range for raw Fetch and for librdkafka with auto.offset.reset=error;
    librdkafka and kafka-python with `earliest` resume exactly at `start`."""
    with kafka_wire.Conn.to(bootstrap) as c:
        below = c.fetch(topic, 0, 0)
        assert below.error_code == kafka_wire.ERR_OFFSET_OUT_OF_RANGE, below
        assert below.log_start_offset == start, below
        assert below.records in (b"", None) and not below.batches
        at = c.fetch(topic, 0, start)
        assert at.error_code == 0 and at.log_start_offset == start, at
        assert at.batches and at.batches[0].base_offset <= start <= at.batches[0].last_offset

    c = consumer(bootstrap, auto_offset_reset="error")
    try:
        c.assign([ck.TopicPartition(topic, 0, 0)])
        err = wait_for(lambda: next((m.error() for m in [c.poll(0.5)]
                                     if m is not None and m.error() and
                                     m.error().code() != ck.KafkaError._PARTITION_EOF), None),
                       20, "an out-of-range error from librdkafka")
        assert err.code() in (ck.KafkaError.OFFSET_OUT_OF_RANGE,
                              ck.KafkaError._AUTO_OFFSET_RESET), err
        assert "out of range" in err.str().lower(), err
    finally:
        c.close()

    got = consume_range(bootstrap, topic, [0], start=0, auto_offset_reset="earliest")[0]
    assert got[0].offset() == start
    assert [m.value() for m in got] == values[start:]

    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                       enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        kc.assign([tp])
        kc.seek(tp, 0)
        records = wait_for(lambda: kc.poll(timeout_ms=500).get(tp), 20,
                           "kafka-python to reset to earliest and read")
        assert records[0].offset == start and records[0].value == values[start]
    finally:
        kc.close()


def test_retention_moves_log_start_and_clients_resume(make_broker):
    broker = make_broker("--num-partitions", "1", "--segment-bytes", str(SEGMENT_BYTES),
                         "--retention-bytes", str(RETENTION_BYTES), "--retention-check-ms",
                         "200")
    topic = unique_topic("retention")
    values = produce_small_batches(broker.bootstrap, topic, 1000)
    start = wait_log_start_settles(broker.bootstrap, topic)
    low, high = watermarks(broker.bootstrap, topic, 0)
    assert (low, high) == (start, 1000)
    # About RETENTION_BYTES of ~270-byte records stay, give or take a segment.
    kept = high - low
    assert 20000 // 300 <= kept <= (RETENTION_BYTES + 2 * SEGMENT_BYTES) // 200, kept
    assert kcat_earliest(broker.bootstrap, topic) == start
    assert first_offset_kcat(broker.bootstrap, topic) == start
    assert "retention deleted" in broker.log()
    assert_out_of_range_below(broker.bootstrap, topic, start, values)

    # The new log start is durable.
    broker.restart()
    assert log_start(broker.bootstrap, topic) == start
    assert watermarks(broker.bootstrap, topic, 0) == (start, 1000)


def test_delete_records_moves_log_start(make_broker):
    broker = make_broker("--num-partitions", "1", "--segment-bytes", str(SEGMENT_BYTES))
    bootstrap = broker.bootstrap
    require_api(bootstrap, kafka_wire.DELETE_RECORDS)
    topic = unique_topic("delrec")
    values = produce_small_batches(bootstrap, topic, 300)
    with kafka_wire.Conn.to(bootstrap) as c:
        # Kafka's semantics: the log start becomes exactly the requested offset, even inside
        # a segment or a batch (123 is inside a batch of 5 starting at 120).
        r = c.delete_records(topic, 0, 123)
        assert (r.error_code, r.low_watermark) == (0, 123), r
        # Deleting below the current start changes nothing.
        r = c.delete_records(topic, 0, 50)
        assert (r.error_code, r.low_watermark) == (0, 123), r
        # Past the high watermark: OFFSET_OUT_OF_RANGE.
        r = c.delete_records(topic, 0, 301)
        assert r.error_code == kafka_wire.ERR_OFFSET_OUT_OF_RANGE, r
        r = c.delete_records(unique_topic("missing"), 0, 0)
        assert r.error_code == kafka_wire.ERR_UNKNOWN_TOPIC_OR_PARTITION, r
    assert watermarks(bootstrap, topic, 0) == (123, 300)
    assert kcat_earliest(bootstrap, topic) == 123
    assert first_offset_kcat(bootstrap, topic) == 123
    assert_out_of_range_below(bootstrap, topic, 123, values)

    broker.restart()
    assert watermarks(broker.bootstrap, topic, 0) == (123, 300)

    # offset -1 means the high watermark: everything goes, the log stays appendable.
    with kafka_wire.Conn.to(broker.bootstrap) as c:
        r = c.delete_records(topic, 0, -1, version=1)
        assert (r.error_code, r.low_watermark) == (0, 300), r
    assert watermarks(broker.bootstrap, topic, 0) == (300, 300)
    p = producer(broker.bootstrap)
    (err, _, off), = produce_all(p, [(topic, 0, None, b"after", None, None)])
    assert (err, off) == (None, 300)


def test_delete_records_with_confluent_admin(bootstrap):
    if not hasattr(AdminClient, "delete_records"):
        pytest.skip(f"confluent-kafka {ck.version()[0]} has no AdminClient.delete_records "
                    "(added in 2.4); DeleteRecords is covered on the wire by "
                    "test_delete_records_moves_log_start")
    require_api(bootstrap, kafka_wire.DELETE_RECORDS)
    topic = unique_topic("delrec-ck")
    produce_small_batches(bootstrap, topic, 50)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.delete_records([ck.TopicPartition(topic, 0, 20)])
    list(fut.values())[0].result(timeout=30)
    assert watermarks(bootstrap, topic, 0) == (20, 50)
