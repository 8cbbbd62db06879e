"""Long-polling Fetch over partitions owned by different cores (kafka-compat.md §9.1): a
waiting Fetch is woken by an append to any of its partitions, whichever core owns it, again
and again, and a Fetch waiting for min_bytes gathers data arriving on several cores.

The broker registers one waiter per Fetch with every partition, in the same hop that reads
the partition, and when woken reads again only the partitions of the cores that woke it
(bench/RESULTS.md, "End-to-end latency"); these tests pin the behaviour that must survive
that: no wake-up is lost, whichever core fires and however often, so every answer comes with
the data and long before max_wait."""

import struct
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient

import kafka_wire as kw
from helpers import consumer, produce_all, producer, scrape_value, unique_topic

PARTITIONS = 6
CORES = "3"  # consecutive partitions land on different cores: owner = (hash + p) % cores
MAX_WAIT_MS = 30000
# An answer this long after the data arrived was woken by max_wait, not by the append.
WOKEN_BY_TIMER_S = MAX_WAIT_MS / 1000 / 2


def test_librdkafka_consumer_is_woken_by_appends_on_every_core(make_broker):
    b = make_broker("--num-partitions", str(PARTITIONS), "--cores", CORES)
    topic = unique_topic("wake-cores")
    # One record per partition first, so that the topic exists and the consumer is known to be
    # fetching (it has read them) before the timed rounds start.
    warm = produce_all(producer(b.bootstrap),
                       [(topic, p, None, b"warm", None, None) for p in range(PARTITIONS)])
    assert all(err is None for err, _, _ in warm), warm
    c = consumer(b.bootstrap, fetch_wait_max_ms=MAX_WAIT_MS, enable_partition_eof=False)
    try:
        c.assign([ck.TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        seen = 0
        deadline = time.monotonic() + 60
        while seen < PARTITIONS and time.monotonic() < deadline:
            m = c.poll(1)
            if m is not None:
                assert m.error() is None, m.error()
                seen += 1
        assert seen == PARTITIONS, f"read {seen} of {PARTITIONS} warm-up records"

        p = producer(b.bootstrap, acks="1", linger_ms=0)
        # Twice round the partitions: each core wakes the same consumer's fetches repeatedly,
        # after other cores have woken it.
        for round_ in range(2):
            for part in range(PARTITIONS):
                value = f"r{round_}p{part}".encode()
                # The consumer's next Fetch is parked now (it has nothing new to read); give
                # it a moment to get there so that the append has a waiter to wake.
                time.sleep(0.2)
                start = time.monotonic()
                produce_all(p, [(topic, part, None, value, None, None)])
                got = None
                while got is None and time.monotonic() - start < MAX_WAIT_MS / 1000 * 2:
                    m = c.poll(1)
                    if m is not None:
                        assert m.error() is None, m.error()
                        got = m
                waited = time.monotonic() - start
                assert got is not None, f"{value} never reached the consumer"
                assert (got.partition(), got.value()) == (part, value)
                assert waited < WOKEN_BY_TIMER_S, (
                    f"{value} reached the consumer after {waited:.1f} s: its fetch was woken by "
                    f"max_wait ({MAX_WAIT_MS} ms), not by the append")
        # Each append found the consumer's fetch parked with nothing read, so the core that
        # appended read the record for it (fetch_waiter::preread) and the fetch answered
        # without a round trip back there. Not every one: librdkafka may be between fetches.
        prereads = scrape_value(b, "spate_kafka_fetch_prereads_total")
        assert prereads >= PARTITIONS, (
            f"{prereads:.0f} of {2 * PARTITIONS} woken fetches were answered with the waking "
            f"core's read")
    finally:
        c.close()


def fetch_two_body(topic, partitions, max_wait_ms, min_bytes):
    """Fetch v5 for `partitions` of one topic, each from offset 0."""
    parts = [kw.i32(p) + kw.i64(0) + kw.i64(-1) + kw.i32(1 << 20) for p in partitions]
    return (kw.i32(-1) + kw.i32(max_wait_ms) + kw.i32(min_bytes) + kw.i32(1 << 20) + kw.i8(0) +
            kw.i32(1) + kw.string(topic) + kw.array(parts, lambda x: x))


def parse_fetch_v5(body):
    """{partition: (error_code, high_watermark, records)} of a one-topic Fetch v5 response."""
    r = kw.Reader(body)
    r.i32()  # throttle_time_ms

    def partition(y):
        index, err, hw = y.i32(), y.i16(), y.i64()
        y.i64()  # last_stable_offset
        y.i64()  # log_start_offset
        y.array(lambda z: (z.i64(), z.i64()))
        return index, (err, hw, y.bytes() or b"")

    topics = r.array(lambda x: (x.string(), x.array(partition)))
    assert r.remaining() == 0
    assert len(topics) == 1
    return dict(topics[0][1])


def test_fetch_waiting_for_min_bytes_gathers_appends_from_two_cores(make_broker):
    b = make_broker("--num-partitions", str(PARTITIONS), "--cores", CORES)
    topic = unique_topic("min-bytes")
    with kw.Conn.to(b.bootstrap, timeout=60) as c:
        c.metadata([topic])  # auto-creates the topic
        value = b"x" * 1000
        # One batch of one 1000-byte record is just over 1000 bytes: the Fetch needs both.
        min_bytes = 1500
        c.send(kw.FETCH, 5, fetch_two_body(topic, [0, 1], MAX_WAIT_MS, min_bytes))
        p = producer(b.bootstrap, acks="1", linger_ms=0)
        start = time.monotonic()
        produce_all(p, [(topic, 0, None, value, None, None)])
        # The first batch wakes the Fetch, which reads partition 0's core again, finds less
        # than min_bytes and waits on: nothing is answered yet.
        c.sock.settimeout(1.0)
        try:
            early = c.sock.recv(1)
        except OSError:
            early = None
        assert not early, "the Fetch answered with one batch, below its min_bytes"
        c.sock.settimeout(60)
        produce_all(p, [(topic, 1, None, value, None, None)])
        _, body = c.recv()
        waited = time.monotonic() - start
    got = parse_fetch_v5(body)
    assert sorted(got) == [0, 1]
    for part in (0, 1):
        err, hw, records = got[part]
        assert (err, hw) == (0, 1), (part, err, hw)
        batches = kw.parse_batches(records)
        assert len(batches) == 1 and value in records, (part, len(records))
    assert waited < WOKEN_BY_TIMER_S, (
        f"the Fetch answered after {waited:.1f} s: woken by max_wait, not by the second append")


def test_deleting_the_topic_answers_a_parked_fetch_at_once(make_broker):
    """DeleteTopics wakes the fetches parked on the topic before it closes each log, and a woken
    fetch that reads the closed log answers with an error at once, not at max_wait. The waking
    core's read for the fetch (fetch_waiter::preread) runs before the close and finds nothing;
    the fetch must read again rather than park on a partition that no longer fires."""
    b = make_broker("--num-partitions", "1", "--cores", "2")
    for round_ in range(3):
        topic = unique_topic(f"del-parked-{round_}")
        with kw.Conn.to(b.bootstrap, timeout=60) as c:
            c.metadata([topic])  # auto-creates the topic, empty
            c.send(kw.FETCH, 5, kw.fetch_body(topic, 0, 0, max_wait_ms=MAX_WAIT_MS, min_bytes=1))
            time.sleep(0.3)  # the fetch parks: nothing to read
            start = time.monotonic()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            admin.delete_topics([topic], operation_timeout=10, request_timeout=15)[topic].result(30)
            _, body = c.recv()
            waited = time.monotonic() - start
        got = parse_fetch_v5(body)
        err, _, records = got[0]
        assert waited < WOKEN_BY_TIMER_S, (
            f"the fetch answered {waited:.1f} s after the delete: woken by max_wait")
        assert err != 0 and not records, (err, len(records))
