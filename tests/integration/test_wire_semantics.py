"""Protocol semantics the pinned clients depend on but would hide or work around, checked on
the wire (kafka-compat.md §4, §9, §13): Metadata's null-vs-empty topic lists and
auto-creation, Fetch's first-whole-batch rule, empty records, out-of-range and long-poll
behaviour, Produce validation, and ListOffsets by timestamp as kafka-python reports it."""

import threading
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

import kafka_wire as kw
from helpers import produce_all, producer, unique_topic

PARTITIONS = 3
ERR_CORRUPT_MESSAGE = 2
ERR_INVALID_TOPIC = 17
ERR_INVALID_REQUIRED_ACKS = 21


def test_metadata_topic_lists_and_auto_creation(bootstrap):
    existing = unique_topic("md")
    with kw.Conn.to(bootstrap) as c:
        assert c.metadata([existing]) == {existing: (0, list(range(PARTITIONS)))}
        # v0: an empty list means every topic (kafka-python's probe); v1+: null means every
        # topic and an empty list none.
        assert existing in c.metadata([], version=0)
        assert c.metadata([], version=1) == {}
        assert existing in c.metadata(None, version=1)
        assert existing in c.metadata(None, version=4)
        # v4 with allow_auto_topic_creation=false does not create.
        nope = unique_topic("nocreate")
        assert c.metadata([nope], version=4, allow_auto_topic_creation=False) == {
            nope: (kw.ERR_UNKNOWN_TOPIC_OR_PARTITION, [])}
        assert nope not in c.metadata(None, version=1)
        # An illegal name is INVALID_TOPIC_EXCEPTION, never created.
        assert c.metadata(["bad/name"], version=1)["bad/name"][0] == ERR_INVALID_TOPIC
        full = c.metadata([existing], version=4, full=True)
    host, port = bootstrap.rsplit(":", 1)
    (node, b_host, b_port, _), = full["brokers"]
    assert (b_host, b_port) == (host, int(port))
    assert full["controller_id"] == node
    for part, err, leader, replicas, isr in full["topics"][existing][1]:
        assert (err, leader, replicas, isr) == (0, node, [node], [node]), part


def test_fetch_returns_first_batch_whole_even_over_max_bytes(bootstrap):
    """KIP-74 (kafka-compat.md §9.1, P10): kafka-python and kafkajs cannot grow their fetch
    size, so the first batch comes back whole even if it exceeds every limit."""
    topic = unique_topic("big")
    big = bytes(range(256)) * 1200  # ~300 KiB, incompressible enough
    p = producer(bootstrap, linger_ms=0, compression_type="none")
    produce_all(p, [(topic, 0, None, big, None, None), (topic, 0, None, b"small", None, None)])
    with kw.Conn.to(bootstrap) as c:
        r = c.fetch(topic, 0, 0, max_bytes=1000, partition_max_bytes=1000)
        assert r.error_code == 0
        assert len(r.batches) >= 1 and r.batches[0].base_offset == 0, r.batches
        # After the first batch the limits apply again.
        assert len(r.records) < len(big) + 2000
    # kafka-python with a 1 KiB per-partition limit still reads the big record.
    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                       max_partition_fetch_bytes=1024, fetch_max_bytes=1024)
    try:
        tp = TopicPartition(topic, 0)
        kc.assign([tp])
        kc.seek(tp, 0)
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            got += kc.poll(timeout_ms=500).get(tp, [])
        assert [r.value for r in got[:2]] == [big, b"small"]
    finally:
        kc.close()


@pytest.mark.parametrize("version", [5, 11])
def test_fetch_edges(bootstrap, version):
    topic = unique_topic("edges")
    produce_all(producer(bootstrap), [(topic, 0, None, b"v%d" % i, None, None)
                                      for i in range(10)])
    with kw.Conn.to(bootstrap) as c:
        ok = c.fetch(topic, 0, 3, version=version)
        assert (ok.error_code, ok.high_watermark, ok.last_stable_offset,
                ok.log_start_offset) == (0, 10, 10, 0)
        assert ok.aborted == [], "aborted_transactions must be an empty array (P19)"
        assert ok.batches and ok.batches[0].base_offset <= 3 <= ok.batches[0].last_offset
        if version >= 11:
            assert ok.preferred_read_replica == -1  # P7
        # At the high watermark: no error, empty (not null) records (P5).
        at_end = c.fetch(topic, 0, 10, version=version)
        assert (at_end.error_code, at_end.records) == (0, b"")
        # Past it: OFFSET_OUT_OF_RANGE, still with empty records.
        past = c.fetch(topic, 0, 11, version=version)
        assert (past.error_code, past.records) == (kw.ERR_OFFSET_OUT_OF_RANGE, b"")
        assert past.high_watermark == 10
        missing = c.fetch(topic, 7, 0, version=version)
        assert (missing.error_code, missing.records) == (kw.ERR_UNKNOWN_TOPIC_OR_PARTITION, b"")


def test_long_poll_is_woken_by_an_append(bootstrap):
    """A Fetch waiting at the end of the log answers when data arrives, not at max_wait
    (kafka-compat.md §9.1)."""
    topic = unique_topic("wake")
    produce_all(producer(bootstrap), [(topic, 0, None, b"first", None, None)])
    with kw.Conn.to(bootstrap, timeout=60) as c:
        c.send(kw.FETCH, 5, kw.fetch_body(topic, 0, 1, max_wait_ms=30000, min_bytes=1))
        # Nothing is answered while there is no data...
        c.sock.settimeout(0.5)
        with pytest.raises(OSError):
            c.sock.recv(1, 0)
        c.sock.settimeout(60)
        start = time.monotonic()
        threading.Thread(target=produce_all, args=(
            producer(bootstrap), [(topic, 0, None, b"second", None, None)])).start()
        _, body = c.recv()
        waited = time.monotonic() - start
    assert waited < 15, f"long poll answered after {waited:.1f} s: woken by timeout, not data"
    assert b"second" in body


def test_produce_validation(bootstrap):
    topic = unique_topic("validate")
    produce_all(producer(bootstrap), [(topic, 0, None, b"seed", None, None)])
    with kw.Conn.to(bootstrap) as c:
        good = kw.record_batch([b"a", b"b"])
        assert c.produce(topic, 0, good, acks=1) == (0, 1)
        assert c.produce(topic, 0, good, acks=2)[0] == ERR_INVALID_REQUIRED_ACKS
        assert c.produce(topic, 0, good, acks=-2)[0] == ERR_INVALID_REQUIRED_ACKS
        corrupt = bytearray(good)
        corrupt[-3] ^= 0xFF  # inside the records, covered by the CRC
        assert c.produce(topic, 0, bytes(corrupt), acks=1)[0] == ERR_CORRUPT_MESSAGE
        assert c.produce(topic, 5, good, acks=1)[0] == kw.ERR_UNKNOWN_TOPIC_OR_PARTITION
        assert c.produce(topic, 0, good, acks=-1, version=7) == (0, 3)
        # Nothing from the refused requests was appended.
        assert c.list_offsets(topic, 0, -1).offset == 5


def _kp_offsets_for_times(bootstrap, topic):
    base = 1_700_000_000_000
    produce_all(producer(bootstrap, linger_ms=0),
                [(topic, 0, None, b"m%d" % i, None, base + 1000 * i) for i in range(20)])
    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tp = TopicPartition(topic, 0)
        assert kc.beginning_offsets([tp]) == {tp: 0}
        assert kc.end_offsets([tp]) == {tp: 20}
        queries = [base + 5000, base + 5001, base + 99_000]
        return base, [kc.offsets_for_times({tp: q})[tp] for q in queries]
    finally:
        kc.close()


def test_list_offsets_by_timestamp_kafka_python_offsets(bootstrap):
    _, (exact, between, after) = _kp_offsets_for_times(bootstrap, unique_topic("kp-times"))
    assert (exact.offset, between.offset, after) == (5, 6, None)


def test_list_offsets_by_timestamp_reports_found_records_timestamp(bootstrap):
    """kafka-python's offsets_for_times (ListOffsets v1) reports the offset *and the
    timestamp of the record found*, as Kafka does (FileRecords.searchForTimestamp)."""
    base, (exact, between, _) = _kp_offsets_for_times(bootstrap, unique_topic("kp-times"))
    assert exact.timestamp == base + 5000
    assert between.timestamp == base + 6000  # record 6's, not the query's base + 5001
