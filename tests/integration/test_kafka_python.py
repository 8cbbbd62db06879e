"""kafka-python 2.0.2 against the broker. It does not negotiate per API: it infers a broker
version from ApiVersions and then sends Metadata v0/v1, Produce v7, Fetch v4 and ListOffsets v1
(kafka-compat.md §3.3). api_version is left unset so the probe runs (P3d)."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

import kafka_wire
from helpers import consume_range, fetch_all_batches, require_api, unique_topic

PARTITIONS = 3


def kp_consume(bootstrap, topic, partitions, start=0, timeout=60):
    """Reads the partitions from `start` to their end offsets with assign() + seek()."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="none")
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, start)
        ends = c.end_offsets(tps)
        out = {p: [] for p in partitions}
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, (
                f"positions {[c.position(tp) for tp in tps]} not at ends {ends} in {timeout} s")
            for tp, records in c.poll(timeout_ms=500).items():
                out[tp.partition] += records
        return out
    finally:
        c.close()


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_producer_and_assign_seek_consumer(bootstrap, compression):
    topic = unique_topic("kp")
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression,
                      linger_ms=5)
    sent = []
    futures = []
    for i in range(3000):
        key = f"key-{i}".encode()
        value = bytes((i + j) % 256 for j in range(i % 200))
        headers = [("seq", str(i).encode()), ("bin", b"\x00\xff")]
        sent.append((key, value, headers))
        futures.append(p.send(topic, key=key, value=value, headers=headers))
    p.flush(timeout=60)
    metas = [f.get(timeout=30) for f in futures]
    p.close(timeout=10)

    by_partition = {}
    for i, md in enumerate(metas):
        by_partition.setdefault(md.partition, []).append((md.offset, i))
    assert sorted(by_partition) == list(range(PARTITIONS))
    for part, offs in by_partition.items():
        assert [o for o, _ in offs] == list(range(len(offs))), f"partition {part}"

    got = kp_consume(bootstrap, topic, range(PARTITIONS))
    where = {(md.partition, md.offset): i for i, md in enumerate(metas)}
    assert sum(len(v) for v in got.values()) == len(sent)
    for part, records in got.items():
        assert [r.offset for r in records] == list(range(len(records))), f"partition {part}"
        for r in records:
            key, value, headers = sent[where[(part, r.offset)]]
            assert (r.key, r.value, list(r.headers)) == (key, value, headers)

    # The same data read by librdkafka: one client's batches are readable by another.
    ck_got = consume_range(bootstrap, topic, range(PARTITIONS))
    for part in range(PARTITIONS):
        assert [m.value() for m in ck_got[part]] == [r.value for r in got[part]]

    # The broker stored kafka-python's batches as sent, compressed or not. kafka-python sends a
    # batch uncompressed when compressing does not make it smaller (a batch of one short
    # record, say: DefaultRecordBatchBuilder._maybe_compress), so a gzip run may hold some
    # codec-0 batches; every partition's bulk is compressed.
    want = kafka_wire.CODECS[compression or "none"]
    for part in range(PARTITIONS):
        codecs = [b.codec for b in fetch_all_batches(bootstrap, topic, part)]
        assert set(codecs) <= {want, kafka_wire.CODECS["none"]}, codecs
        assert codecs.count(want) * 2 > len(codecs), codecs

    # seek() into the middle of a partition.
    mid = len(got[0]) // 2
    again = kp_consume(bootstrap, topic, [0], start=mid)
    assert [r.offset for r in again[0]] == list(range(mid, len(got[0])))


def test_admin_create_topics(bootstrap):
    require_api(bootstrap, kafka_wire.CREATE_TOPICS)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        name = unique_topic("kp-created")
        admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)],
                            timeout_ms=10000)
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        try:
            assert c.partitions_for_topic(name) == {0, 1, 2, 3}
        finally:
            c.close()
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)],
                                timeout_ms=10000)
        # Writable: kafka-python's own producer reaches the last new partition.
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        md = p.send(name, value=b"x", partition=3).get(timeout=30)
        p.close(timeout=10)
        assert (md.partition, md.offset) == (3, 0)
    finally:
        admin.close()
