"""A minimal Kafka wire client on raw sockets, for the tests that real clients cannot express.

Real clients (kcat, confluent-kafka-python, kafka-python) drive almost every integration test.
This module covers what they hide or cannot send: malformed frames, exact error codes, exact
response layouts, a Fetch that reports OFFSET_OUT_OF_RANGE instead of resetting, the codec bits
of the batches the broker stored, and APIs that our pinned clients do not implement
(DeleteRecords). Every encoder here follows kafka-compat.md §2 (framing, primitive types,
header versions); only non-flexible request versions are built, plus the ApiVersions probe.

    conn = Conn("127.0.0.1", 9092)
    versions = conn.api_versions()                    # {api_key: (min, max)}
    part = conn.fetch("topic", 0, offset=0)           # Fetch v5, one partition
    assert part.error_code == ERR_OFFSET_OUT_OF_RANGE

Everything is blocking with a socket timeout, so a broker that never answers fails the test
instead of hanging it.
"""

import socket
import struct
import time
from dataclasses import dataclass, field

# API keys (kafka-compat.md §4).
PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
OFFSET_COMMIT = 8
OFFSET_FETCH = 9
FIND_COORDINATOR = 10
JOIN_GROUP = 11
HEARTBEAT = 12
LEAVE_GROUP = 13
SYNC_GROUP = 14
API_VERSIONS = 18
INIT_PRODUCER_ID = 22
CREATE_TOPICS = 19
DELETE_TOPICS = 20
DELETE_RECORDS = 21
DESCRIBE_CONFIGS = 32
ALTER_CONFIGS = 33
CREATE_PARTITIONS = 37

API_NAMES = {
    PRODUCE: "Produce",
    FETCH: "Fetch",
    LIST_OFFSETS: "ListOffsets",
    METADATA: "Metadata",
    OFFSET_COMMIT: "OffsetCommit",
    OFFSET_FETCH: "OffsetFetch",
    FIND_COORDINATOR: "FindCoordinator",
    JOIN_GROUP: "JoinGroup",
    HEARTBEAT: "Heartbeat",
    LEAVE_GROUP: "LeaveGroup",
    SYNC_GROUP: "SyncGroup",
    API_VERSIONS: "ApiVersions",
    INIT_PRODUCER_ID: "InitProducerId",
    CREATE_TOPICS: "CreateTopics",
    DELETE_TOPICS: "DeleteTopics",
    DELETE_RECORDS: "DeleteRecords",
    DESCRIBE_CONFIGS: "DescribeConfigs",
    ALTER_CONFIGS: "AlterConfigs",
    CREATE_PARTITIONS: "CreatePartitions",
}

# Error codes used by the tests.
ERR_NONE = 0
ERR_OFFSET_OUT_OF_RANGE = 1
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_UNSUPPORTED_VERSION = 35
ERR_REBALANCE_IN_PROGRESS = 27
ERR_ILLEGAL_GENERATION = 22
ERR_INCONSISTENT_GROUP_PROTOCOL = 23
ERR_UNKNOWN_MEMBER_ID = 25
ERR_INVALID_SESSION_TIMEOUT = 26
ERR_MEMBER_ID_REQUIRED = 79
ERR_FENCED_INSTANCE_ID = 82

# Record batch attribute bits (kafka-compat.md §8.1).
CODEC_MASK = 0x07
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


class ConnectionClosed(Exception):
    """The broker closed the connection (EOF or reset) while we waited for bytes."""


# --- encoding ---------------------------------------------------------------------------


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def u32(v):
    return struct.pack(">I", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def nbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(n):
    return uvarint((n << 1) ^ (n >> 63))


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def request_header(api_key, version, correlation_id, client_id="spate-integration",
                   flexible=False):
    """Request header v1, or v2 (v1 plus an empty tag buffer) for flexible versions."""
    h = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    return h + (b"\x00" if flexible else b"")


def frame(payload):
    return i32(len(payload)) + payload


# --- request bodies (one topic, one partition) ----------------------------------------------


def _one(topic, partition_fields):
    return i32(1) + string(topic) + i32(1) + partition_fields


def metadata_body(topics, version=1, allow_auto_topic_creation=True):
    """Metadata v0-v4. v0: an empty list means all topics; v1+: None means all topics and an
    empty list none. v4 adds allow_auto_topic_creation."""
    body = array(topics, string)
    if version >= 4:
        body += i8(1 if allow_auto_topic_creation else 0)
    return body


def fetch_body(topic, partition, offset, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20,
               partition_max_bytes=None, version=5):
    """Fetch v5, or v11 (a full fetch without a session, as librdkafka sends it)."""
    pmax = max_bytes if partition_max_bytes is None else partition_max_bytes
    body = i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0)
    if version >= 7:
        body += i32(0) + i32(-1)  # session_id, session_epoch
    part = i32(partition)
    if version >= 9:
        part += i32(-1)  # current_leader_epoch
    part += i64(offset) + i64(-1) + i32(pmax)
    body += _one(topic, part)
    if version >= 7:
        body += i32(0)  # forgotten_topics_data
    if version >= 11:
        body += string("")  # rack_id
    return body


def list_offsets_body(topic, partition, timestamp):
    """ListOffsets v1."""
    return i32(-1) + _one(topic, i32(partition) + i64(timestamp))


def produce_body(topic, partition, batch, acks=-1, timeout_ms=10000):
    """Produce v3-v7."""
    return (string(None) + i16(acks) + i32(timeout_ms) +
            _one(topic, i32(partition) + nbytes(batch)))


def delete_records_body(topic, partition, offset, timeout_ms=10000):
    """DeleteRecords v0-v1."""
    return _one(topic, i32(partition) + i64(offset)) + i32(timeout_ms)


# --- CRC-32C and record batches (for a raw Produce) ---------------------------------------


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record_batch(values, timestamp_ms=None, producer_id=-1, producer_epoch=-1, base_sequence=-1):
    """An uncompressed magic-2 batch holding one record per value (no keys, no headers);
    producer_id/epoch/base_sequence make it an idempotent producer's batch."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    records = b""
    for i, v in enumerate(values):
        body = (i8(0) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0))
        records += varint(len(body)) + body
    after_crc = (i16(0) + i32(len(values) - 1) + i64(ts) + i64(ts) + i64(producer_id) +
                 i16(producer_epoch) + i32(base_sequence) + i32(len(values)) + records)
    after_length = i32(-1) + i8(2) + u32(crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


@dataclass
class Batch:
    base_offset: int
    last_offset: int
    attributes: int
    record_count: int
    crc_ok: bool

    @property
    def codec(self):
        return self.attributes & CODEC_MASK


def parse_batches(records):
    """Splits a Fetch record set into magic-2 batch headers; a truncated tail is ignored."""
    out = []
    pos = 0
    while pos + 61 <= len(records):
        base_offset, length = struct.unpack_from(">qi", records, pos)
        end = pos + 12 + length
        if end > len(records):
            break  # a partial batch at the end of the set is legal (kafka-compat.md §9.1)
        magic = records[pos + 16]
        assert magic == 2, f"batch at offset {base_offset} has magic {magic}"
        (crc,) = struct.unpack_from(">I", records, pos + 17)
        attributes, last_delta = struct.unpack_from(">hi", records, pos + 21)
        (count,) = struct.unpack_from(">i", records, pos + 57)
        out.append(Batch(base_offset, base_offset + last_delta, attributes, count,
                         crc32c(records[pos + 21:end]) == crc))
        pos = end
    return out


# --- decoding ---------------------------------------------------------------------------


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def _take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def i8(self):
        return self._take(">b")

    def i16(self):
        return self._take(">h")

    def i32(self):
        return self._take(">i")

    def i64(self):
        return self._take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def array(self, dec):
        n = self.i32()
        if n < 0:
            return None
        return [dec(self) for _ in range(n)]

    def uvarint(self):
        """Unsigned varint (the lengths of compact forms)."""
        n, shift = 0, 0
        while True:
            b = self._take(">B")
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def raw(self, n):
        b = self.data[self.pos:self.pos + n]
        assert len(b) == n, f"{n} bytes wanted, {len(b)} left"
        self.pos += n
        return b

    def remaining(self):
        return len(self.data) - self.pos


# --- responses --------------------------------------------------------------------------


@dataclass
class FetchPartition:
    partition: int
    error_code: int
    high_watermark: int
    last_stable_offset: int
    log_start_offset: int
    aborted: list
    records: bytes = b""
    preferred_read_replica: int = None
    batches: list = field(default_factory=list)


@dataclass
class ListOffsetsPartition:
    partition: int
    error_code: int
    timestamp: int
    offset: int


@dataclass
class JoinGroupResult:
    error_code: int
    generation_id: int
    protocol_name: str
    leader: str
    member_id: str
    members: list  # [(member_id, group_instance_id (v5+) or None, metadata bytes)]


@dataclass
class DeleteRecordsPartition:
    partition: int
    low_watermark: int
    error_code: int


class Conn:
    """One Kafka connection. Requests are answered in order, so request() is send + receive."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.correlation_id = 0

    @classmethod
    def to(cls, bootstrap, timeout=10.0):
        host, port = bootstrap.rsplit(":", 1)
        return cls(host, int(port), timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, api_key, version, body, flexible_header=False):
        self.correlation_id += 1
        hdr = request_header(api_key, version, self.correlation_id, flexible=flexible_header)
        self.send_raw(frame(hdr + body))
        return self.correlation_id

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise ConnectionClosed(str(e)) from e
            if not chunk:
                raise ConnectionClosed(f"EOF after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv(self):
        """One response: (correlation_id, body after the v0 response header)."""
        (size,) = struct.unpack(">i", self._recv_exact(4))
        payload = self._recv_exact(size)
        (corr,) = struct.unpack_from(">i", payload, 0)
        return corr, payload[4:]

    def request(self, api_key, version, body, flexible_header=False):
        corr = self.send(api_key, version, body, flexible_header)
        got, resp = self.recv()
        assert got == corr, f"correlation id {got}, expected {corr}"
        return resp

    def wait_closed(self, timeout=10.0):
        """True if the broker closes the connection within `timeout` (any bytes are read
        and discarded); False if it is still open."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                if not self.sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False

    # --- APIs ---

    def api_versions(self, version=0):
        """ApiVersions v0-v2: {api_key: (min, max)}; raises on a non-zero error code."""
        r = Reader(self.request(API_VERSIONS, version, b""))
        err = r.i16()
        keys = r.array(lambda x: (x.i16(), x.i16(), x.i16()))
        assert err == 0, f"ApiVersions v{version} error {err}"
        return {k: (lo, hi) for k, lo, hi in keys}

    def metadata(self, topics, version=1, allow_auto_topic_creation=True, full=False):
        """Metadata v0-v4: {topic: (error_code, [partition ids])}, or with full=True a dict
        with brokers, controller_id, cluster_id and topics {name: (error, [(partition, error,
        leader, replicas, isr)])}."""
        body = metadata_body(topics, version, allow_auto_topic_creation)
        r = Reader(self.request(METADATA, version, body))
        if version >= 3:
            r.i32()  # throttle_time_ms
        brokers = r.array(lambda x: (x.i32(), x.string(), x.i32(),
                                     x.string() if version >= 1 else None))
        cluster_id = r.string() if version >= 2 else None
        controller_id = r.i32() if version >= 1 else None
        topics_out = {}
        internal = set()
        for _ in range(r.i32()):
            err = r.i16()
            name = r.string()
            if version >= 1 and r.i8():
                internal.add(name)
            parts = r.array(lambda x: (x.i16(), x.i32(), x.i32(), x.array(lambda y: y.i32()),
                                       x.array(lambda y: y.i32())))
            topics_out[name] = (err, sorted((p[1], p[0], p[2], p[3], p[4]) for p in parts))
        assert r.remaining() == 0, f"{r.remaining()} bytes left in Metadata v{version}"
        if full:
            return {"brokers": brokers, "cluster_id": cluster_id,
                    "controller_id": controller_id, "topics": topics_out,
                    "internal": internal}
        return {n: (e, [p[0] for p in ps]) for n, (e, ps) in topics_out.items()}

    def fetch(self, topic, partition, offset, max_wait_ms=0, min_bytes=0,
              max_bytes=1 << 20, partition_max_bytes=None, version=5):
        """Fetch v5 (reports log_start_offset) or v11 for one partition."""
        pmax = max_bytes if partition_max_bytes is None else partition_max_bytes
        body = fetch_body(topic, partition, offset, max_wait_ms, min_bytes, max_bytes, pmax,
                          version)
        r = Reader(self.request(FETCH, version, body))
        r.i32()  # throttle_time_ms
        if version >= 7:
            top_error, session_id = r.i16(), r.i32()
            assert (top_error, session_id) == (0, 0), (top_error, session_id)

        def partition_response(y):
            p = FetchPartition(y.i32(), y.i16(), y.i64(), y.i64(), y.i64(),
                               y.array(lambda z: (z.i64(), z.i64())))
            if version >= 11:
                p.preferred_read_replica = y.i32()
            p.records = y.bytes()
            return p

        topics = r.array(lambda x: (x.string(), x.array(partition_response)))
        assert r.remaining() == 0, f"{r.remaining()} bytes left in Fetch v{version}"
        assert len(topics) == 1 and len(topics[0][1]) == 1, topics
        p = topics[0][1][0]
        p.batches = parse_batches(p.records or b"")
        return p

    def list_offsets(self, topic, partition, timestamp):
        """ListOffsets v1 for one partition."""
        r = Reader(self.request(LIST_OFFSETS, 1, list_offsets_body(topic, partition, timestamp)))
        topics = r.array(lambda x: (x.string(), x.array(lambda y: ListOffsetsPartition(
            y.i32(), y.i16(), y.i64(), y.i64()))))
        return topics[0][1][0]

    def produce(self, topic, partition, batch, acks=-1, version=3, timeout_ms=10000):
        """Produce v3+; returns (error_code, base_offset), or None when acks=0 (no reply)."""
        body = produce_body(topic, partition, batch, acks, timeout_ms)
        if acks == 0:
            self.send(PRODUCE, version, body)
            return None
        r = Reader(self.request(PRODUCE, version, body))
        topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16(), y.i64(),
                                                                  y.i64()))))
        _, err, base, _ = topics[0][1][0]
        return err, base

    def init_producer_id(self, transactional_id=None, version=1):
        """InitProducerId v0/v1; returns (error_code, producer_id, producer_epoch)."""
        tid = i16(-1) if transactional_id is None else string(transactional_id)
        r = Reader(self.request(INIT_PRODUCER_ID, version, tid + i32(60000)))
        r.i32()  # throttle_time_ms
        return r.i16(), r.i64(), r.i16()

    def delete_records(self, topic, partition, offset, version=0, timeout_ms=10000):
        """DeleteRecords v0/v1 for one partition."""
        body = delete_records_body(topic, partition, offset, timeout_ms)
        r = Reader(self.request(DELETE_RECORDS, version, body))
        r.i32()  # throttle_time_ms
        topics = r.array(lambda x: (x.string(), x.array(lambda y: DeleteRecordsPartition(
            y.i32(), y.i64(), y.i16()))))
        return topics[0][1][0]

    # --- consumer-group APIs (non-flexible versions only) ---

    def join_group(self, group_id, member_id="", protocols=(("range", b""),),
                   session_timeout_ms=6000, rebalance_timeout_ms=None, protocol_type="consumer",
                   group_instance_id=None, version=2):
        """JoinGroup v0-v5. protocols: [(name, metadata bytes)]. Blocks until the broker
        answers, which may be after the join phase (raise the socket timeout for that)."""
        body = string(group_id) + i32(session_timeout_ms)
        if version >= 1:
            body += i32(session_timeout_ms if rebalance_timeout_ms is None
                        else rebalance_timeout_ms)
        body += string(member_id)
        if version >= 5:
            body += string(group_instance_id)
        body += string(protocol_type)
        body += array(list(protocols), lambda p: string(p[0]) + nbytes(p[1]))
        r = Reader(self.request(JOIN_GROUP, version, body))
        if version >= 2:
            r.i32()  # throttle_time_ms
        res = JoinGroupResult(r.i16(), r.i32(), r.string(), r.string(), r.string(), [])
        res.members = r.array(lambda x: (x.string(), x.string() if version >= 5 else None,
                                         x.bytes()))
        assert r.remaining() == 0, f"{r.remaining()} bytes left in JoinGroup v{version}"
        return res

    def sync_group(self, group_id, generation_id, member_id, assignments=(),
                   group_instance_id=None, version=1):
        """SyncGroup v0-v3: (error_code, assignment bytes)."""
        body = string(group_id) + i32(generation_id) + string(member_id)
        if version >= 3:
            body += string(group_instance_id)
        body += array(list(assignments), lambda a: string(a[0]) + nbytes(a[1]))
        r = Reader(self.request(SYNC_GROUP, version, body))
        if version >= 1:
            r.i32()
        err, assignment = r.i16(), r.bytes()
        assert r.remaining() == 0, f"{r.remaining()} bytes left in SyncGroup v{version}"
        return err, assignment

    def heartbeat(self, group_id, generation_id, member_id, group_instance_id=None, version=1):
        """Heartbeat v0-v3: the error code."""
        body = string(group_id) + i32(generation_id) + string(member_id)
        if version >= 3:
            body += string(group_instance_id)
        r = Reader(self.request(HEARTBEAT, version, body))
        if version >= 1:
            r.i32()
        err = r.i16()
        assert r.remaining() == 0, f"{r.remaining()} bytes left in Heartbeat v{version}"
        return err

    def leave_group(self, group_id, member_id, version=1):
        """LeaveGroup v0-v1 (single member): the error code."""
        r = Reader(self.request(LEAVE_GROUP, version, string(group_id) + string(member_id)))
        if version >= 1:
            r.i32()
        return r.i16()

    def offset_fetch(self, group_id, topic, partitions, version=1):
        """OffsetFetch v1: {partition: (offset, metadata, error_code)}."""
        body = string(group_id) + array([topic], lambda t: string(t) +
                                        array(list(partitions), i32))
        r = Reader(self.request(OFFSET_FETCH, version, body))
        topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i64(), y.string(),
                                                                  y.i16()))))
        return {p: (o, md, e) for _, ps in topics for p, o, md, e in ps}


def advertised_versions(bootstrap):
    """The broker's ApiVersions table, {api_key: (min, max)}, read with ApiVersions v0."""
    with Conn.to(bootstrap) as c:
        return c.api_versions(0)
