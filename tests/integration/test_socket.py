"""Bad input at the socket level, with raw sockets: frames the broker must refuse by closing
the connection (kafka-compat.md §2.3), clients that stall or vanish, the ApiVersions
UNSUPPORTED_VERSION reply (§7), and in-order answers on a pipelined connection (rule 6). After
every misbehaving client, other clients must still be served."""

import os
import random
import resource
import socket
import struct
import time

import pytest

import kafka_wire as kw
from helpers import consume_range, kcat, produce_all, producer, scrape_value, unique_topic


def assert_serving(bootstrap):
    """A fresh connection still gets ApiVersions and Metadata answered, and a real client can
    produce and consume."""
    with kw.Conn.to(bootstrap) as c:
        versions = c.api_versions(0)
        assert kw.PRODUCE in versions and kw.FETCH in versions
        assert isinstance(c.metadata([]), dict)
    topic = unique_topic("alive")
    kcat(bootstrap, "-P", "-t", topic, "-p", "0", input=b"still\nserving\n")
    got = consume_range(bootstrap, topic, [0])
    assert [m.value() for m in got[0]] == [b"still", b"serving"]


def closed_without_reply(conn, timeout=10):
    """True if the broker closes `conn` without sending a single byte."""
    conn.sock.settimeout(timeout)
    try:
        data = conn.sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    assert data == b"", f"expected the connection closed without a reply, got {data[:64]!r}"
    return True


@pytest.mark.parametrize("size", [0x7FFFFFFF, 100 * 1024 * 1024 + 1, -1, 0, 7],
                         ids=["int32-max", "over-default-max", "negative", "zero", "under-header"])
def test_bad_frame_size_closes_connection(broker, bootstrap, size):
    counted = scrape_value(broker, "spate_kafka_oversized_frames_total")
    with kw.Conn.to(bootstrap) as bad, kw.Conn.to(bootstrap) as other:
        bad.send_raw(struct.pack(">i", size) + b"\x00" * 8)
        assert closed_without_reply(bad), f"frame size {size} did not close the connection"
        # A connection opened before the bad one keeps working.
        assert other.api_versions(0)
    assert_serving(bootstrap)
    # Counted once (and logged), as every refused frame is.
    assert scrape_value(broker, "spate_kafka_oversized_frames_total") == counted + 1
    assert f"frame of {size} bytes outside [8, " in broker.log()


def test_max_request_bytes_flag(make_broker):
    broker = make_broker("--max-request-bytes", "4096")
    with kw.Conn.to(broker.bootstrap) as c:
        # A 4 KiB produce request is refused by size alone, before it is read.
        batch = kw.record_batch([b"x" * 5000])
        c.send_raw(struct.pack(">i", 4097 + len(batch)))
        assert closed_without_reply(c)
    with kw.Conn.to(broker.bootstrap) as c:
        err, base = c.produce(unique_topic("small"), 0, kw.record_batch([b"y" * 100]))
        assert err == kw.ERR_UNKNOWN_TOPIC_OR_PARTITION or (err, base) == (0, 0)


def _metadata_claiming_topics(n):
    return kw.request_header(kw.METADATA, 1, 1) + struct.pack(">i", n)


GARBAGE = {
    "random-bytes": bytes(random.Random(7).randrange(256) for _ in range(64)),
    "unknown-api-key": kw.request_header(0x7FFF, 0, 1),
    "negative-api-key": kw.request_header(-3, 0, 1),
    "fetch-v0-unsupported": kw.request_header(kw.FETCH, 0, 1) + b"\x00" * 32,
    "metadata-v99": kw.request_header(kw.METADATA, 99, 1),
    "array-count-past-end": _metadata_claiming_topics(1_000_000),
    "string-length-past-end": kw.request_header(kw.METADATA, 1, 1) + struct.pack(">ih", 1, 300)
    + b"abc",
    "truncated-header": struct.pack(">hhi", kw.METADATA, 1, 1) + struct.pack(">h", 50) + b"ab",
    # The records field claims 500 bytes; 20 follow.
    "produce-truncated-records": kw.request_header(kw.PRODUCE, 3, 1) +
    kw.produce_body("t", 0, b"\x00" * 500)[:-480],
}


@pytest.mark.parametrize("payload", list(GARBAGE.values()), ids=list(GARBAGE))
def test_garbage_frame_closes_connection_after_earlier_replies(broker, bootstrap, payload):
    counted = scrape_value(broker, "spate_kafka_malformed_requests_total")
    with kw.Conn.to(bootstrap) as c:
        # A good request pipelined ahead of the garbage is still answered, then the
        # connection closes with nothing sent for the garbage.
        good = kw.frame(kw.request_header(kw.API_VERSIONS, 0, 41))
        c.send_raw(good + kw.frame(payload))
        corr, body = c.recv()
        assert corr == 41 and struct.unpack_from(">h", body)[0] == 0
        assert closed_without_reply(c), "garbage frame did not close the connection"
    assert_serving(bootstrap)
    # Counted once, and logged with the reason.
    assert scrape_value(broker, "spate_kafka_malformed_requests_total") == counted + 1
    assert "; closing the connection" in broker.log()


def test_half_request_then_silence_or_vanish_does_not_affect_others(bootstrap):
    stalled = []
    for i in range(20):
        host, port = bootstrap.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
        # Half a Metadata request: the size says 100 bytes, only 10 arrive.
        s.sendall(struct.pack(">i", 100) + kw.request_header(kw.METADATA, 1, i)[:10])
        stalled.append(s)
    assert_serving(bootstrap)
    # Half of them vanish abruptly (RST), half politely (FIN), mid-frame.
    for i, s in enumerate(stalled):
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert_serving(bootstrap)


def test_clean_stop_with_stalled_and_long_polling_clients(broker):
    host, port = broker.bootstrap.rsplit(":", 1)
    idle = socket.create_connection((host, int(port)), timeout=10)
    half = socket.create_connection((host, int(port)), timeout=10)
    half.sendall(struct.pack(">i", 100) + b"\x00\x03")
    topic = unique_topic("poll")
    produce_all(producer(broker.bootstrap), [(topic, 0, None, b"x", None, None)])
    poller = kw.Conn.to(broker.bootstrap)
    # A long poll at the end of the log, waiting 60 s for one byte.
    poller.send(kw.FETCH, 5, kw.fetch_body(topic, 0, 1, max_wait_ms=60000, min_bytes=1))
    try:
        broker.stop(timeout=15)  # SIGTERM; must exit 0 despite these clients
    finally:
        for s in (idle, half, poller.sock):
            s.close()


def test_api_versions_unsupported_version_gets_v0_error_reply(bootstrap):
    with kw.Conn.to(bootstrap) as c:
        table = c.api_versions(0)
        lo, hi = table[kw.API_VERSIONS]
        # As librdkafka would send it: header v2 and a v3-style compact body.
        body = kw.compact_string("librdkafka") + kw.compact_string("2.0.2") + b"\x00"
        corr = c.send(kw.API_VERSIONS, 99, body, flexible_header=True)
        got, resp = c.recv()
        assert got == corr
        # Response header v0 (no tag byte), v0 body: error 35 and the ApiVersions range only.
        assert resp == struct.pack(">hihhh", kw.ERR_UNSUPPORTED_VERSION, 1, kw.API_VERSIONS, lo,
                                   hi), resp.hex()
        # The connection stays usable, and the client's retry at v0 is answered.
        assert c.api_versions(0) == table


def _decode_api_versions_v3(resp):
    r = kw.Reader(resp)
    err = r.i16()

    def uvarint():
        shift = n = 0
        while True:
            b = r.data[r.pos]
            r.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    keys = {}
    for _ in range(uvarint() - 1):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        assert uvarint() == 0  # no tagged fields per entry
        keys[k] = (lo, hi)
    throttle = r.i32()
    assert uvarint() == 0 and r.remaining() == 0
    return err, keys, throttle


def test_api_versions_v3_flexible_and_invalid_software_name(bootstrap):
    with kw.Conn.to(bootstrap) as c:
        table = c.api_versions(0)
        body = kw.compact_string("librdkafka") + kw.compact_string("2.0.2") + b"\x00"
        err, keys, _ = _decode_api_versions_v3(c.request(kw.API_VERSIONS, 3, body,
                                                         flexible_header=True))
        assert (err, keys) == (0, table)
        bad = kw.compact_string("-bad name!") + kw.compact_string("2.0.2") + b"\x00"
        resp = c.request(kw.API_VERSIONS, 3, bad, flexible_header=True)
        assert struct.unpack_from(">h", resp)[0] == 42  # INVALID_REQUEST (kafka-compat.md §7)


def test_pipelined_requests_are_answered_in_order(bootstrap):
    topic = unique_topic("order")
    produce_all(producer(bootstrap), [(topic, 0, None, b"seed", None, None)])
    fetch_body = kw.fetch_body(topic, 0, 1, max_wait_ms=300, min_bytes=1)
    with kw.Conn.to(bootstrap) as c:
        expected = []
        out = b""
        for i in range(40):
            c.correlation_id += 1
            cid = c.correlation_id
            kind = i % 5
            if kind == 0:      # a long poll that waits 300 ms for data that never comes
                out += kw.frame(kw.request_header(kw.FETCH, 5, cid) + fetch_body)
            elif kind == 1:
                out += kw.frame(kw.request_header(kw.API_VERSIONS, 0, cid))
            elif kind == 2:
                out += kw.frame(kw.request_header(kw.METADATA, 1, cid) + kw.metadata_body([]))
            elif kind == 3:    # acks=0: no reply at all
                batch = kw.record_batch([b"acks0-%d" % i])
                out += kw.frame(kw.request_header(kw.PRODUCE, 3, cid) +
                                kw.produce_body(topic, 1, batch, acks=0))
                continue
            else:
                out += kw.frame(kw.request_header(kw.LIST_OFFSETS, 1, cid) +
                                kw.list_offsets_body(topic, 0, -1))
            expected.append(cid)
        c.send_raw(out)
        got = [c.recv()[0] for _ in expected]
        assert got == expected
    # The acks=0 batches were appended (to partition 1).
    got = consume_range(bootstrap, topic, [1])
    assert [m.value() for m in got[1]] == [b"acks0-%d" % i for i in range(3, 40, 5)]


@pytest.mark.parametrize("acks", [1, -1])
def test_pipelined_produces_append_in_arrival_order_on_every_core(make_broker, acks):
    """Produce requests pipelined on one connection, each with batches for partitions owned by
    different cores, append to each partition in the order the requests arrived: the offsets
    each partition hands out follow the request order. The broker lets a request append as soon
    as the previous one's appends are queued on their cores (not done), which must keep this."""
    b = make_broker("--num-partitions", "3", "--cores", "3")
    topic = unique_topic("pipelined")
    n = 300
    with kw.Conn.to(b.bootstrap, timeout=60) as c:
        c.metadata([topic])  # auto-creates the topic
        parts_of = {}
        out = b""
        for i in range(n):
            # Every partition, or two of them, or one: requests that touch different sets of
            # cores overtake nothing.
            parts = [[0, 1, 2], [2, 0], [1], [0]][i % 4]
            parts_of[i] = parts
            body = kw.string(None) + kw.i16(acks) + kw.i32(30000) + kw.i32(1) + kw.string(topic)
            body += kw.array(parts, lambda p: kw.i32(p) + kw.nbytes(
                kw.record_batch([b"%d-%d" % (i, p)])))
            c.correlation_id += 1
            out += kw.frame(kw.request_header(kw.PRODUCE, 3, c.correlation_id) + body)
        c.send_raw(out)
        offsets = {0: [], 1: [], 2: []}
        for i in range(n):
            _, resp = c.recv()
            r = kw.Reader(resp)
            topics = r.array(lambda x: (x.string(), x.array(
                lambda y: (y.i32(), y.i16(), y.i64(), y.i64()))))
            got = {p: (err, base) for p, err, base, _ in topics[0][1]}
            assert sorted(got) == sorted(parts_of[i])
            for p, (err, base) in got.items():
                assert err == 0, (i, p, err)
                offsets[p].append(base)
    for p, bases in offsets.items():
        assert bases == list(range(len(bases))), f"partition {p}: offsets out of request order"
    # And the records themselves are in request order.
    got = consume_range(b.bootstrap, topic, [0, 1, 2])
    for p in range(3):
        want = [b"%d-%d" % (i, p) for i in range(n) if p in parts_of[i]]
        assert [m.value() for m in got[p]] == want


def test_acks0_produce_error_closes_connection(bootstrap):
    topic = unique_topic("acks0")
    produce_all(producer(bootstrap), [(topic, 0, None, b"x", None, None)])
    with kw.Conn.to(bootstrap) as c:
        # Partition 99 does not exist; with acks=0 the only way to tell the client is to close
        # the connection (kafka-compat.md §2.3, P13).
        c.produce(topic, 99, kw.record_batch([b"lost"]), acks=0)
        assert closed_without_reply(c), "acks=0 produce error did not close the connection"
    assert_serving(bootstrap)


def test_client_closing_during_a_large_fetch_does_not_kill_the_broker(bootstrap):
    """Fetch responses are sent with sendfile, which cannot suppress SIGPIPE per call: a client
    that closes (or resets) while a multi-megabyte response is on its way must cost only its
    own connection, never the broker (regression: the broker died of SIGPIPE)."""
    topic = unique_topic("sigpipe")
    with kw.Conn.to(bootstrap) as c:
        c.metadata([topic])
        for i in range(32):
            err, _ = c.produce(topic, 0, kw.record_batch([bytes([i]) * 60000] * 4))
            assert err == 0
    host, port = bootstrap.rsplit(":", 1)
    for n in range(8):
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        body = kw.fetch_body(topic, 0, 0, max_bytes=64 << 20, partition_max_bytes=64 << 20)
        s.sendall(kw.frame(kw.request_header(kw.FETCH, 5, 1) + body))
        if n % 2:  # a reset rather than a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.recv(1000)  # the response has started
        s.close()
    with kw.Conn.to(bootstrap) as c:
        assert c.api_versions()
        f = c.fetch(topic, 0, 0, max_bytes=1 << 20)  # and fetches still work
        assert f.error_code == 0 and f.high_watermark == 32 * 4 and f.records


def test_out_of_descriptors_the_broker_backs_off_and_serves_again(make_broker):
    """When accept fails for want of file descriptors (EMFILE), the connection waits in the
    backlog and the next accept would fail at once: the broker retries every 100 ms instead of
    spinning (and logging) in a loop, and once descriptors are free it takes the waiting
    clients and serves them."""
    b = make_broker()
    pid = b.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 2, hard))
    host, port = b.bootstrap.rsplit(":", 1)
    waiting = [socket.create_connection((host, int(port)), timeout=10) for _ in range(8)]
    time.sleep(1.5)
    failures = b.log(tail=1_000_000).count("accept failed")
    # About one a 100 ms while it lasts; a loop without the pause logs thousands.
    assert 1 <= failures <= 40, failures
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    # The clients that waited in the backlog are served now.
    for s in waiting:
        s.sendall(kw.frame(kw.request_header(kw.API_VERSIONS, 0, 5)))
    for s in waiting:
        s.settimeout(10)
        head = s.recv(8)
        assert len(head) == 8 and struct.unpack(">i", head[4:8])[0] == 5
        s.close()
    assert_serving(b.bootstrap)
