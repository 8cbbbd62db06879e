"""The Prometheus endpoint (`GET /metrics`): the exposition parses, counters move by exactly
what clients did, and bad HTTP gets a clear status without disturbing the broker."""
import ctypes
import math
import mmap
import os
import random
import re
import socket
import subprocess
import urllib.error
import urllib.request

import kafka_wire as kw
from helpers import consume_range, produce_all, producer, scrape_value, unique_topic, wait_for

# --- a strict parser of the text exposition format 0.0.4 ---------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL_PAIR = re.compile(rf'({LABEL})="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    return float(text)  # raises on anything Prometheus would not accept either


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        assert m, f"bad label set at {text[pos:]!r}"
        assert m.group(1) not in labels, f"label {m.group(1)} twice"
        labels[m.group(1)] = (m.group(2).replace("\\n", "\n").replace('\\"', '"')
                              .replace("\\\\", "\\"))
        pos = m.end()
        if m.group(3) == "":
            assert pos == len(text)
    return labels


def parse_exposition(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}, checking the rules a
    Prometheus server applies: one TYPE per family before its samples, sample names that
    belong to their family, valid names, labels and values, histograms cumulative with
    +Inf == _count."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    families, current = {}, None
    for line in text.split("\n")[:-1]:
        assert line, "no empty lines"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(NAME, name), line
            families.setdefault(name, {"type": None, "samples": []})["help"] = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in TYPES, line
            fam = families.setdefault(name, {"type": None, "samples": []})
            assert fam["type"] is None and not fam["samples"], f"TYPE after samples: {line}"
            fam["type"] = typ
            current = name
            continue
        assert not line.startswith("#"), f"unknown comment {line!r}"
        m = SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, labels, value = m.group(1), parse_labels(m.group(2) or ""), parse_value(m.group(3))
        fam = families[current]
        allowed = {current}
        if fam["type"] == "histogram":
            allowed = {current + s for s in ("_bucket", "_sum", "_count")}
        assert name in allowed, f"{name} inside family {current}"
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        assert fam["type"] is not None, f"{name} has no TYPE"
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
        if fam["type"] == "counter":
            assert all(v >= 0 for _, _, v in fam["samples"]), name
    return families


def check_histogram(name, samples):
    series = {}
    for sname, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": []})
        if sname.endswith("_bucket"):
            s["buckets"].append((parse_value(labels["le"]), value))
        else:
            s[sname[len(name) + 1:]] = value
    for key, s in series.items():
        bounds = [b for b, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, (name, key)
        assert counts == sorted(counts), f"{name}{key}: buckets not cumulative"
        assert counts[-1] == s["count"], (name, key)
        assert "sum" in s, (name, key)


def value(families, name, **labels):
    """The sample `name` with exactly these labels, or 0 if the series does not exist yet."""
    for fam in families.values():
        for sname, slabels, v in fam["samples"]:
            if sname == name and slabels == labels:
                return v
    return 0


def scrape(broker, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                 method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        body = r.read().decode("utf-8")
        assert len(body) == (int(r.headers["Content-Length"]) if method == "GET" else 0)
        return body


# --- raw HTTP ----------------------------------------------------------------------------------


def http_raw(broker, data, timeout=10):
    """Sends `data`, half-closes, and returns (status or None, headers text, body) of what
    comes back before the broker closes."""
    with socket.create_connection(("127.0.0.1", broker.metrics_port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    if not got:
        return None, "", b""
    head, _, body = got.partition(b"\r\n\r\n")
    status_line, _, headers = head.decode("latin-1").partition("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) [A-Za-z ]+", status_line)
    assert m, f"bad status line {status_line!r}"
    return int(m.group(1)), headers, body


# --- tests -------------------------------------------------------------------------------------


def test_counters_move_by_what_the_clients_did(make_broker):
    b = make_broker("--num-partitions", "3")
    before = parse_exposition(scrape(b))
    topic = unique_topic("metrics")

    # A real client: 300 messages over 3 partitions; every one acknowledged.
    values = [b"v%05d" % i * 10 for i in range(300)]
    reports = produce_all(producer(b.bootstrap),
                          [(topic, None, b"k%d" % i, v, None, None) for i, v in enumerate(values)])
    per_partition = [0, 0, 0]
    for err, partition, _ in reports:
        assert err is None
        per_partition[partition] += 1

    # Raw requests whose count and bytes are known exactly: 4 produces (3 good, 1 to a
    # partition that does not exist) and 2 fetches.
    requests, sent = [], 0
    with kw.Conn.to(b.bootstrap) as c:
        for i in range(3):
            body = kw.produce_body(topic, 0, kw.record_batch([b"raw%d" % i]))
            requests.append(body)
        body = kw.produce_body(topic, 7, kw.record_batch([b"nowhere"]))
        requests.append(body)
        errors = []
        for body in requests:
            frame = kw.frame(kw.request_header(kw.PRODUCE, 3, 1) + body)
            sent += len(frame)
            c.send_raw(frame)
            _, resp = c.recv()
            r = kw.Reader(resp)
            topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16(), y.i64(),
                                                                      y.i64()))))
            errors.append(topics[0][1][0][1])
        assert errors == [0, 0, 0, 3]  # UNKNOWN_TOPIC_OR_PARTITION
        for _ in range(2):
            c.fetch(topic, 1, 0)
    per_partition[0] += 3

    text = scrape(b)
    after = parse_exposition(text)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    # Per-partition gauges read from the logs: exactly the acknowledged records.
    for p in range(3):
        assert value(after, "spate_partition_log_end_offset", topic=topic,
                     partition=str(p)) == per_partition[p]
        assert value(after, "spate_partition_log_start_offset", topic=topic,
                     partition=str(p)) == 0
        assert value(after, "spate_partition_segments", topic=topic, partition=str(p)) == 1
    sizes = sum(value(after, "spate_partition_size_bytes", topic=topic, partition=str(p))
                for p in range(3))
    # Nothing else was written on this fresh broker, so the bytes appended are the bytes stored.
    assert delta("spate_storage_appended_bytes_total") == sizes > 0
    # librdkafka's requests are some number of Produces; ours add exactly 4 and 4 frames' bytes.
    produces = delta("spate_kafka_requests_total", api="Produce")
    assert produces >= 4 + 1
    assert delta("spate_kafka_request_bytes_total", api="Produce") > sent + sum(
        len(v) for v in values)
    assert delta("spate_kafka_errors_total", api="Produce", code="3") == 1
    assert delta("spate_kafka_requests_total", api="Fetch") == 2
    assert value(after, "spate_kafka_request_microseconds_count", api="Fetch") - value(
        before, "spate_kafka_request_microseconds_count", api="Fetch") == 2
    assert delta("spate_kafka_response_bytes_total", api="Fetch") > 0
    assert "spate_kafka_connections" in after
    assert value(after, "spate_metrics_http_responses_total", code="200") >= 1

    # Exactly-counted bytes: a connection doing nothing but 2 more raw produces.
    base = parse_exposition(scrape(b))
    with kw.Conn.to(b.bootstrap) as c:
        sent = 0
        for i in range(2):
            frame = kw.frame(kw.request_header(kw.PRODUCE, 3, 1) +
                             kw.produce_body(topic, 2, kw.record_batch([b"exact%d" % i])))
            sent += len(frame)
            c.send_raw(frame)
            c.recv()
    # Only this test's clients talk to this broker, and librdkafka's producer is flushed.
    final = parse_exposition(scrape(b))
    assert value(final, "spate_kafka_request_bytes_total", api="Produce") - value(
        base, "spate_kafka_request_bytes_total", api="Produce") == sent
    assert value(final, "spate_kafka_requests_total", api="Produce") - value(
        base, "spate_kafka_requests_total", api="Produce") == 2
    assert value(final, "spate_partition_log_end_offset", topic=topic,
                 partition="2") == per_partition[2] + 2


def test_head_and_query_string(broker):
    assert scrape(broker, "HEAD") == ""
    status, headers, body = http_raw(broker, b"GET /metrics?name[]=x HTTP/1.0\r\n\r\n")
    assert status == 200 and b"# TYPE" in body
    assert "Connection: close" in headers


def test_endpoint_can_be_disabled(make_broker):
    b = make_broker("--metrics-port", "-1")
    assert b.metrics_port is None
    assert "metrics:" not in b.log()


def test_bad_http_gets_clear_statuses(broker):
    cases = [
        (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET / HTTP/1.1\r\n\r\n", 404),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 405),
        (b"DELETE /metrics HTTP/1.1\r\n\r\n", 405),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        (b"GET /metrics HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET /metrics\r\n\r\n", 400),
        (b"GET  /metrics HTTP/1.1\r\n\r\n", 400),
        (b"GET metrics HTTP/1.1\r\n\r\n", 400),
        (b"G(T /metrics HTTP/1.1\r\n\r\n", 400),
        (b"GET /met\x00rics HTTP/1.1\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nA: b\x01c\r\n\r\n", 400),
        (b"\r\n\r\n", 400),
        (b"garbage", 400),  # the client ended its side mid-head
        (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)), 400),  # TLS
        (b"\x16\x03\x01" + bytes(range(1, 256)) * 40, 431),
    ]
    for request, expected in cases:
        status, headers, body = http_raw(broker, request)
        assert status == expected, (request[:60], status, body)
        assert body.startswith(f"{expected} ".encode()) and body.endswith(b"\n"), body
        if expected == 405:
            assert "Allow: GET, HEAD" in headers
    # Nothing sent at all: closed without an answer.
    assert http_raw(broker, b"")[0] is None
    # The broker still serves Kafka and metrics.
    with kw.Conn.to(broker.bootstrap) as c:
        assert c.api_versions()
    parse_exposition(scrape(broker))


def test_random_bytes_never_hurt_the_broker(broker):
    rng = random.Random(20261126)
    pieces = [b"GET", b"HEAD", b"POST", b" ", b"/metrics", b"/", b"?a=b", b"HTTP/1.1",
              b"HTTP/1.0", b"\r\n", b"\n", b":", b"Host", b"\r\n\r\n", b"\x00", b"\xff", b"%"]
    for i in range(150):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        else:
            data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 20)))
        status, _, _ = http_raw(broker, data)
        assert status in (None, 200, 400, 404, 405, 431, 505), (data, status)
    parse_exposition(scrape(broker))
    with kw.Conn.to(broker.bootstrap) as c:
        assert c.api_versions()


def test_slow_and_silent_clients_do_not_stall_anything(broker):
    # Silent clients and one that trickles half a request hold connections open...
    idle = [socket.create_connection(("127.0.0.1", broker.metrics_port)) for _ in range(10)]
    idle[0].sendall(b"GET /metr")
    try:
        # ... while scrapes and Kafka requests are served.
        for _ in range(3):
            parse_exposition(scrape(broker))
        with kw.Conn.to(broker.bootstrap) as c:
            assert c.api_versions()
    finally:
        for s in idle[1:]:
            s.close()
    # Left open on purpose: the broker must still stop cleanly (checked at teardown).
    broker.leftover = idle[0]


def test_too_many_connections_get_503(broker):
    # The server accepts in order, so once 32 silent connections are held, a later one is
    # turned away at once with 503. It sends nothing: the 503 is written as soon as it is
    # accepted, before any request could arrive.
    held = [socket.create_connection(("127.0.0.1", broker.metrics_port)) for _ in range(40)]
    try:
        status, _, _ = http_raw(broker, b"")
        assert status == 503
    finally:
        for s in held:
            s.close()
    # Once they are gone, scrapes succeed again.
    def ok():
        try:
            return scrape(broker) != ""
        except (urllib.error.HTTPError, ConnectionError):
            return False
    wait_for(ok, 30, "a scrape succeeds once the held connections are closed")


def resident_bytes(path):
    """How much of the file is in the page cache, by mincore(2) over a read-only mapping (a
    mapping faults nothing in by itself)."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    page = mmap.PAGESIZE
    pages = (size + page - 1) // page
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vec = ctypes.create_string_buffer(pages)
            assert libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw) * page
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def on_tmpfs(path):
    """tmpfs keeps files in memory: nothing there can be evicted to disk."""
    kind = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()
    return kind == "tmpfs"


def test_page_cache_budget_evicts_what_fell_behind_and_loses_nothing(make_broker):
    """With `--page-cache-budget-mb 2`, what a partition wrote more than its share of the
    budget ago is written back and evicted on the broker's trimmer thread (the counter says
    how much), and a consumer from the beginning still reads every message as produced."""
    b = make_broker("--page-cache-budget-mb", "2", "--num-partitions", "1")
    topic = unique_topic("cache")
    values = [bytes([i % 251]) * 10_000 + b"%06d" % i for i in range(3000)]  # ~30 MB
    before = scrape_value(b, "spate_storage_page_cache_dropped_bytes_total")
    reports = produce_all(producer(b.bootstrap, acks=1),
                          [(topic, 0, None, v, None, None) for v in values])
    assert all(err is None for err, _, _ in reports)
    # The window is at most the 2 MiB budget (less if other logs share it), handed over a
    # MiB at a time: all but about 3 MB of the 30 go.
    wait_for(lambda: scrape_value(b, "spate_storage_page_cache_dropped_bytes_total") - before
             >= 25e6, 30, "the data behind the window to be evicted")
    assert scrape_value(b, "spate_storage_page_cache_drop_failures_total") == 0
    # And the pages are gone from memory, not just counted: of the ~30 MB the segment files
    # hold, the window (2 MiB), one step handed over but not yet done, and a few pages held
    # for an instant when their writeback ended stay.
    if not on_tmpfs(b.data_dir):
        segments = sorted(b.data_dir.glob(f"{topic}-0/*.log"))
        assert segments, sorted(b.data_dir.iterdir())
        on_disk = sum(os.path.getsize(f) for f in segments)
        assert on_disk >= 30e6, on_disk
        wait_for(lambda: sum(resident_bytes(f) for f in segments) <= 6e6, 30,
                 "the evicted pages to leave the page cache")
    got = consume_range(b.bootstrap, topic, [0])[0]
    assert [m.value() for m in got] == values


def test_page_cache_budget_flag_and_default(make_broker):
    """`--page-cache-budget-mb 0` turns the limit off, as Kafka keeps everything the kernel
    keeps; without the flag the broker takes an eighth of memory, at most 1 GiB. The broker
    says which at start."""
    off = make_broker("--page-cache-budget-mb", "0")
    assert "page-cache budget of the logs: 0 MiB (no limit)" in off.log()
    default = make_broker()
    m = re.search(r"page-cache budget of the logs: (\d+) MiB\n", default.log())
    assert m, default.log()
    with open("/proc/meminfo") as f:
        total_mib = int(f.readline().split()[1]) // 1024
    # MemTotal is a little under the physical pages the broker counts.
    budget = int(m.group(1))
    assert min(1024, total_mib // 8) <= budget <= 1024, (budget, total_mib)
