"""How the connection moves bytes: requests read through a per-connection buffer (many frames per
recv, a frame split anywhere, a big frame read straight into its own allocation), answers
gathered into one write, and small Fetch answers read from the segment file into memory while
large ones go out with sendfile. None of this may show on the wire: every test here checks that
answers arrive whole, in order, and byte-identical to what was produced, however the client
splits its bytes (kafka-compat.md §2.3)."""

import random
import socket
import struct
import time

import kafka_wire as kw
from helpers import unique_topic
from test_socket import assert_serving, closed_without_reply

# The broker's read buffer and inline-fetch threshold (connection.cc); the tests straddle them.
READ_BUFFER = 64 * 1024
INLINE_FETCH = 64 * 1024


def api_versions_frame(corr):
    return kw.frame(kw.request_header(kw.API_VERSIONS, 0, corr))


def metadata_frame(corr, topics):
    return kw.frame(kw.request_header(kw.METADATA, 1, corr) + kw.metadata_body(topics))


def produce_frame(corr, topic, partition, batch, acks=1):
    return kw.frame(kw.request_header(kw.PRODUCE, 3, corr) +
                    kw.produce_body(topic, partition, batch, acks=acks))


def produce_parts_frame(corr, topic, batches, acks=1):
    """One Produce v3 frame with batches[i] for partition i (a frame larger than any one
    batch may be: max.message.bytes bounds each batch)."""
    parts = b"".join(kw.i32(p) + kw.nbytes(b) for p, b in enumerate(batches))
    body = (kw.string(None) + kw.i16(acks) + kw.i32(10000) + kw.i32(1) + kw.string(topic) +
            kw.i32(len(batches)) + parts)
    return kw.frame(kw.request_header(kw.PRODUCE, 3, corr) + body)


def fetch_frame(corr, topic, partition, offset, max_bytes):
    return kw.frame(kw.request_header(kw.FETCH, 5, corr) +
                    kw.fetch_body(topic, partition, offset, max_bytes=max_bytes,
                                  partition_max_bytes=max_bytes))


def parse_produce_parts(body):
    """[(error_code, base_offset)] by partition."""
    r = kw.Reader(body)
    topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16(), y.i64(),
                                                              y.i64()))))
    return [(err, base) for _, err, base, _ in sorted(topics[0][1])]


def parse_produce(body):
    return parse_produce_parts(body)[0]


def parse_fetch_records(body):
    """Fetch v5 for one partition: (error_code, records)."""
    r = kw.Reader(body)
    r.i32()  # throttle_time_ms
    parts = r.array(lambda x: (x.string(), x.array(lambda y: (
        y.i32(), y.i16(), y.i64(), y.i64(), y.i64(), y.array(lambda z: (z.i64(), z.i64())),
        y.bytes()))))
    assert r.remaining() == 0
    p = parts[0][1][0]
    return p[1], p[6]


def recv_all(conn, expected_corrs):
    out = []
    for want in expected_corrs:
        corr, body = conn.recv()
        assert corr == want, f"correlation id {corr}, expected {want} (answers out of order)"
        out.append(body)
    return out


def send_in_pieces(sock, data, cuts):
    """Sends `data` split at the offsets in `cuts`, each piece on its own (TCP_NODELAY and a
    pause, so that the broker sees the pieces in separate reads)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]:
        sock.sendall(data[start:cut])
        start = cut
        time.sleep(0.002)


def new_topic(bootstrap, prefix):
    topic = unique_topic(prefix)
    with kw.Conn.to(bootstrap) as c:
        assert topic in c.metadata([topic])
    return topic


def same_batch(sent, stored, base_offset):
    """A stored batch is the produced one with its base offset (and nothing else) assigned;
    the partition leader epoch (bytes 12-16) is the broker's to set."""
    assert len(stored) == len(sent), (len(stored), len(sent))
    assert struct.unpack_from(">q", stored, 0)[0] == base_offset
    assert stored[8:12] == sent[8:12]
    assert stored[16:] == sent[16:], "stored batch differs from the produced one"


def test_pipelined_small_requests_in_one_send_are_answered_in_order(bootstrap):
    topic = new_topic(bootstrap, "pipe")
    with kw.Conn.to(bootstrap) as c:
        # Answers to the same requests sent one at a time, to compare byte for byte.
        ref_versions = c.request(kw.API_VERSIONS, 0, b"")
        ref_metadata = c.request(kw.METADATA, 1, kw.metadata_body([topic]))
        frames = b"".join(api_versions_frame(i) if i % 2 == 0 else metadata_frame(i, [topic])
                          for i in range(1000, 1200))
        c.send_raw(frames)  # 200 frames, ~9 KiB, in one send
        bodies = recv_all(c, range(1000, 1200))
        for i, body in zip(range(1000, 1200), bodies):
            assert body == (ref_versions if i % 2 == 0 else ref_metadata), i
        # The connection is still in step afterwards.
        assert c.api_versions(0)


def test_frames_split_at_awkward_boundaries(bootstrap):
    topic = new_topic(bootstrap, "split")
    with kw.Conn.to(bootstrap) as c:
        # The size prefix split across writes, then a frame one byte at a time.
        data = api_versions_frame(1) + metadata_frame(2, [topic])
        send_in_pieces(c.sock, data, [1, 2, 3, len(api_versions_frame(1)) + 2])
        recv_all(c, [1, 2])
        three = api_versions_frame(3) + metadata_frame(4, [topic]) + api_versions_frame(5)
        send_in_pieces(c.sock, three, range(1, len(three)))
        recv_all(c, [3, 4, 5])

        # Small frames filling the read buffer up to just before its end, then a produce
        # frame straddling its end, sent as exactly one buffer's worth and the rest.
        batch = kw.record_batch([bytes(range(256)) * 4])
        straddler = produce_frame(99, topic, 0, batch)
        fill = b""
        corr = 10
        while len(fill) + 2 * len(api_versions_frame(0)) < READ_BUFFER - 100:
            fill += api_versions_frame(corr)
            corr += 1
        data = fill + straddler + api_versions_frame(100)
        assert len(fill) < READ_BUFFER < len(fill) + len(straddler)
        send_in_pieces(c.sock, data, [READ_BUFFER])
        bodies = recv_all(c, list(range(10, corr)) + [99, 100])
        err, base = parse_produce(bodies[-2])
        assert err == 0

        # Frames bigger than half the buffer and bigger than the buffer (read straight into
        # their own allocation), including a 3 MB produce (three partitions of 1000 KiB each:
        # max.message.bytes bounds a batch), split mid-prefix and mid-body.
        rng = random.Random(11)
        batches = [kw.record_batch([rng.randbytes(n)]) for n in (40 * 1024, 70 * 1024, 500)]
        big = [kw.record_batch([rng.randbytes(1000 * 1024)]) for _ in range(3)]
        frames = [produce_frame(200, topic, 0, batches[0]),
                  produce_frame(201, topic, 0, batches[1]),
                  produce_parts_frame(202, topic, big),
                  produce_frame(203, topic, 0, batches[2])]
        assert len(frames[2]) > 3_000_000
        data = b"".join(frames) + api_versions_frame(300)
        cuts, at = [], 0
        for f in frames:
            cuts += [at + 2, at + 4 + 1000, at + len(f) - 3]
            at += len(f)
        send_in_pieces(c.sock, data, cuts)
        bodies = recv_all(c, [200, 201, 202, 203, 300])
        got = [parse_produce_parts(body) for body in bodies[:4]]
        assert all(err == 0 for parts in got for err, _ in parts), got
        offsets = [got[0][0][1], got[1][0][1], got[3][0][1]]
        assert offsets == [base + 1, base + 2, base + 4]
        big_offsets = [off for _, off in got[2]]
        assert big_offsets[0] == base + 3
    # What was stored is what was sent.
    with kw.Conn.to(bootstrap) as c:
        stored = [(0, batch, base)] + [(0, b, off) for b, off in zip(batches, offsets)] + [
            (p, b, off) for p, (b, off) in enumerate(zip(big, big_offsets))]
        for partition, b, off in stored:
            part = c.fetch(topic, partition, off, max_bytes=1, partition_max_bytes=1)
            assert part.error_code == 0
            same_batch(b, part.records[:len(b)], off)


def test_random_splits_of_a_mixed_stream(bootstrap):
    """One stream of small and large frames cut at random points: every answer arrives, in
    order."""
    topic = new_topic(bootstrap, "mixed")
    rng = random.Random(5)
    frames, corrs = [], []
    for i in range(120):
        kind = rng.choice(["versions", "metadata", "small", "medium", "large"])
        if kind == "versions":
            frames.append(api_versions_frame(i))
        elif kind == "metadata":
            frames.append(metadata_frame(i, [topic]))
        else:
            n = {"small": 300, "medium": 20 * 1024, "large": 90 * 1024}[kind]
            frames.append(produce_frame(i, topic, i % 3, kw.record_batch([rng.randbytes(n)])))
        corrs.append(i)
    data = b"".join(frames)
    cuts = sorted(rng.sample(range(1, len(data)), 300))
    with kw.Conn.to(bootstrap) as c:
        send_in_pieces(c.sock, data, cuts)
        for body, f in zip(recv_all(c, corrs), frames):
            if struct.unpack_from(">h", f, 4)[0] == kw.PRODUCE:
                assert parse_produce(body)[0] == 0


def test_fetch_below_and_above_inline_threshold_is_byte_identical(bootstrap):
    topic = new_topic(bootstrap, "inline")
    rng = random.Random(3)
    # Record sizes around the threshold: the first ones are read into memory, the last ones
    # are sent with sendfile.
    sizes = [1, 1000, INLINE_FETCH - 200, INLINE_FETCH + 1000, 300 * 1024]
    batches = [kw.record_batch([rng.randbytes(n)]) for n in sizes]
    with kw.Conn.to(bootstrap) as c:
        offsets = []
        for b in batches:
            err, off = c.produce(topic, 0, b, acks=1)
            assert err == 0
            offsets.append(off)
        # One at a time.
        for b, off in zip(batches, offsets):
            part = c.fetch(topic, 0, off, max_bytes=len(b), partition_max_bytes=len(b))
            assert part.error_code == 0
            same_batch(b, part.records, off)
        # Pipelined, small and large interleaved, with other requests between: the gathered
        # writes and the sendfile path keep order and bytes.
        order = [0, 3, 1, 4, 2, 0, 4, 4, 1]
        data = b""
        for k, i in enumerate(order):
            data += fetch_frame(50 + 2 * k, topic, 0, offsets[i], len(batches[i]))
            data += api_versions_frame(51 + 2 * k)
        c.send_raw(data)
        bodies = recv_all(c, range(50, 50 + 2 * len(order)))
        for k, i in enumerate(order):
            err, records = parse_fetch_records(bodies[2 * k])
            assert err == 0
            same_batch(batches[i], records, offsets[i])
        # Everything at once (well over the threshold): all batches back to back.
        part = c.fetch(topic, 0, offsets[0], max_bytes=4 << 20)
        assert part.error_code == 0
        pos = 0
        for b, off in zip(batches, offsets):
            same_batch(b, part.records[pos:pos + len(b)], off)
            pos += len(b)


def test_oversized_frame_after_pipelined_requests_closes_after_their_answers(bootstrap):
    with kw.Conn.to(bootstrap) as c, kw.Conn.to(bootstrap) as other:
        data = b"".join(api_versions_frame(i) for i in range(50))
        c.send_raw(data + struct.pack(">i", 0x7FFFFFFF) + b"\x00" * 8)
        recv_all(c, range(50))
        assert closed_without_reply(c)
        assert other.api_versions(0)
    assert_serving(bootstrap)


def test_half_closed_client_gets_every_answer_then_eof(bootstrap):
    """A client that sends its last requests and shuts down its sending side still gets every
    answer: the broker's reader sees EOF while its writer may be sending a gathered batch of
    answers it already took, and must not close the socket under that write."""
    topic = new_topic(bootstrap, "halfclose")
    for round_ in range(5):
        with kw.Conn.to(bootstrap) as c:
            frames = b"".join(metadata_frame(i, [topic]) if i % 3 else api_versions_frame(i)
                              for i in range(300))
            c.send_raw(frames)
            c.sock.shutdown(socket.SHUT_WR)
            recv_all(c, range(300))
            assert closed_without_reply(c), f"round {round_}: more bytes after the answers"
    assert_serving(bootstrap)


def test_client_vanishing_mid_frame_does_not_disturb_others(bootstrap):
    topic = new_topic(bootstrap, "vanish")
    host, port = bootstrap.rsplit(":", 1)
    with kw.Conn.to(bootstrap) as other:
        other.send_raw(api_versions_frame(1))
        recv_all(other, [1])
        for i, (declared, sent) in enumerate([(100, 30), (40 * 1024, 30 * 1024),
                                               (3 << 20, 200 * 1024)]):
            s = socket.create_connection((host, int(port)), timeout=10)
            # Pipelined good frames, then part of a frame; the client then goes away.
            head = b"".join(api_versions_frame(j) for j in range(5))
            partial = (struct.pack(">i", declared) +
                       kw.request_header(kw.PRODUCE, 3, 9))[:sent]
            partial += b"\x00" * (sent - len(partial))
            s.sendall(head + partial)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            # A connection opened before keeps being served, in step.
            other.send_raw(api_versions_frame(10 + i) + metadata_frame(20 + i, [topic]))
            recv_all(other, [10 + i, 20 + i])
    assert_serving(bootstrap)


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_client_that_pipelines_and_never_reads_is_held_back(broker):
    """A client that pipelines Fetch requests as fast as it can and never reads an answer: the
    broker stops reading from it once it holds 1024 unanswered requests (its in-flight bound),
    so the client's sends block and the broker's memory stays bounded, though every answer is
    60 KB of log; other clients are served meanwhile, and after the client vanishes too.
    (Without the bound the broker took 18.5 M requests in those seconds and grew by 8.8 GB.)"""
    bootstrap = broker.bootstrap
    topic = new_topic(bootstrap, "unread")
    batch = kw.record_batch([random.Random(5).randbytes(60_000)])
    with kw.Conn.to(bootstrap) as c:
        err, _ = c.produce(topic, 0, batch, acks=1)
        assert err == 0
    base_kb = _rss_kb(broker.proc.pid)
    one = b"".join(fetch_frame(1000 + i, topic, 0, 0, len(batch)) for i in range(1000))
    host, port = bootstrap.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answers pile up at the broker
    s.setblocking(False)
    sent = 0
    blocked_since = None
    deadline = time.monotonic() + 60
    # Send until the broker has stopped taking requests for a whole second.
    while time.monotonic() < deadline:
        try:
            sent += s.send(one[sent % len(one):])
            blocked_since = None
        except BlockingIOError:
            blocked_since = blocked_since or time.monotonic()
            if time.monotonic() - blocked_since > 1.0:
                break
            time.sleep(0.01)
    assert blocked_since is not None, "the broker kept reading a client that never reads"
    requests_sent = sent // (len(one) // 1000)
    # 60 KB answers for every request sent would be gigabytes; the broker holds at most 1024
    # unanswered requests, whose answers are file ranges until they are written. (It grows by
    # ~2 MB here; the bound leaves room for ASan's 256 MB quarantine of freed memory.)
    grown_mb = (_rss_kb(broker.proc.pid) - base_kb) / 1024
    assert requests_sent > 2000, requests_sent  # far more than the bound was offered
    assert grown_mb < 400, (grown_mb, requests_sent)
    assert_serving(bootstrap)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    assert_serving(bootstrap)
