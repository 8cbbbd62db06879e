#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

The seeds are small, valid inputs written from the protocol's field layouts (the same frames
as the golden tests in src/kafka/protocol/tests/, and the worked example of
docs/formats/record-batch.md), so that fuzzing starts from the interesting shapes instead of
having to discover a request header or a CRC. Regression inputs (crashes that were fixed) are
added next to them by hand, named regress-*; this script never touches those.

Usage: fuzz/make_seeds.py   (rewrites the seed-* files)
"""
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent


def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def boolean(v): return b"\x01" if v else b"\x00"


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def nbytes(b):
    return i32(len(b)) + b


def compact_array(items, enc):
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


def header(key, version, corr=1, client="k", flexible=False):
    h = i16(key) + i16(version) + i32(corr) + string(client)
    return h + (b"\x00" if flexible else b"")


# ---- record batches (magic 2) -----------------------------------------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(offset_delta, ts_delta, key, value, headers=()):
    def field(b):
        return varint(-1) if b is None else varint(len(b)) + b
    body = b"\x00" + varint(ts_delta) + varint(offset_delta) + field(key) + field(value)
    body += varint(len(headers))
    for hk, hv in headers:
        body += field(hk) + field(hv)
    return varint(len(body)) + body


def batch(records, base_ts=1_700_000_000_000, max_ts=None, attributes=0, producer=(-1, -1, -1),
          raw_records=None, count=None):
    payload = raw_records if raw_records is not None else b"".join(records)
    n = count if count is not None else len(records)
    after_crc = (i16(attributes) + i32(n - 1) + i64(base_ts) +
                 i64(base_ts if max_ts is None else max_ts) + i64(producer[0]) +
                 i16(producer[1]) + i32(producer[2]) + i32(n) + payload)
    crc = struct.pack(">I", crc32c(after_crc))
    rest = i32(0) + i8(2) + crc + after_crc  # leader epoch, magic, crc, ...
    return i64(0) + i32(len(rest)) + rest


# The worked example of docs/formats/record-batch.md (87 bytes).
EXAMPLE = batch([record(0, 0, b"k0", b"v0"), record(1, 1, b"k1", b"v1", [(b"h", b"x")])],
                max_ts=1_700_000_000_001)
assert len(EXAMPLE) == 87 and EXAMPLE[17:21] == bytes.fromhex("d53899e8"), EXAMPLE.hex()


def request_seeds():
    topic_t = string("t")
    return {
        # ApiVersions v3 as librdkafka sends it (flexible: header tag buffer, compact strings).
        "api_versions_v3": header(18, 3, client="rdkafka", flexible=True) +
        compact_string("librdkafka") + compact_string("2.0.2") + b"\x00",
        "api_versions_v0": header(18, 0),
        "metadata_v0_all_topics": header(3, 0) + i32(0),
        "metadata_v4": header(3, 4) + array(["t"], string) + boolean(True),
        "produce_v3": header(0, 3) + string(None) + i16(-1) + i32(1000) +
        array([0], lambda _: topic_t + array([0], lambda _: i32(0) + i32(len(EXAMPLE)) +
                                               EXAMPLE)),
        "fetch_v4": header(1, 4) + i32(-1) + i32(500) + i32(1) + i32(1 << 20) + i8(0) +
        array([0], lambda _: topic_t + array([0], lambda _: i32(2) + i64(9) + i32(4096))),
        "list_offsets_v1": header(2, 1) + i32(-1) +
        array([0], lambda _: topic_t + array([0], lambda _: i32(0) + i64(-2))),
        "create_topics_v0": header(19, 0) + array([0], lambda _: topic_t + i32(-1) + i16(-1) +
                                                   array([0], lambda _: i32(0) + array([1], i32)) +
                                                   array([("k", "v"), ("n", None)],
                                                         lambda c: string(c[0]) + string(c[1]))) +
        i32(5000),
        "create_topics_v4": header(19, 4) + array([0], lambda _: topic_t + i32(3) + i16(1) +
                                                   i32(0) + i32(0)) + i32(5000) + boolean(True),
        "delete_topics_v1": header(20, 1) + array(["t", "u"], string) + i32(5000),
        "delete_records_v1": header(21, 1) +
        array([0], lambda _: topic_t + array([(0, 10), (1, -1)],
                                             lambda p: i32(p[0]) + i64(p[1]))) + i32(1000),
        "describe_configs_v0": header(32, 0) +
        array([(2, "t", None), (4, "0", ["k"])],
              lambda r: i8(r[0]) + string(r[1]) + array(r[2], string)),
        "describe_configs_v1": header(32, 1) +
        array([(2, "t", None), (4, "0", ["k"])],
              lambda r: i8(r[0]) + string(r[1]) + array(r[2], string)) + boolean(True),
        "alter_configs_v1": header(33, 1) +
        array([0], lambda _: i8(2) + topic_t +
              array([("k", "v"), ("n", None)], lambda c: string(c[0]) + string(c[1]))) +
        boolean(False),
        "create_partitions_v1": header(37, 1) +
        array([("t", 3, [[1], [1]]), ("u", 2, None)],
              lambda t: string(t[0]) + i32(t[1]) +
              array(t[2], lambda a: array(a, i32))) + i32(5000) + boolean(False),
    }


def group_request_seeds():
    """The group, offset and producer-id APIs of group_api_list, in the versions our clients
    send (the golden frames of src/kafka/protocol/tests/group_golden_test.cc), plus the flexible
    versions librdkafka would send if they were advertised."""
    g, m, i, t = string("g"), string("m"), string("i"), string("t")
    consumer = string("consumer")
    commit_v2_partition = i32(0) + i64(10) + string("")
    return {
        "find_coordinator_v0": header(10, 0) + g,
        "find_coordinator_v2_txn": header(10, 2) + string("x") + i8(1),
        "join_group_v2": header(11, 2) + g + i32(10000) + i32(300000) + string("") + consumer +
        array([("range", b"\x01\x02\x03")], lambda p: string(p[0]) + nbytes(p[1])),
        "join_group_v5": header(11, 5) + g + i32(45000) + i32(300000) + m + i + consumer +
        array([("range", b"\x01"), ("roundrobin", b"\x02")],
              lambda p: string(p[0]) + nbytes(p[1])),
        "heartbeat_v1": header(12, 1) + g + i32(1) + m,
        "heartbeat_v3": header(12, 3) + g + i32(1) + m + i,
        "leave_group_v1": header(13, 1) + g + m,
        "leave_group_v4_flexible": header(13, 4, flexible=True) + compact_string("g") +
        compact_array([0], lambda _: compact_string("m") + compact_string("i") + b"\x00") +
        b"\x00",
        "sync_group_v1": header(14, 1) + g + i32(1) + m +
        array([0], lambda _: m + nbytes(b"\x01\x02")),
        "sync_group_v3": header(14, 3) + g + i32(1) + m + i +
        array([0], lambda _: m + nbytes(b"\x01\x02")),
        "describe_groups_v2": header(15, 2) + array(["g"], string),
        "list_groups_v2": header(16, 2),
        "list_groups_v3_flexible": header(16, 3, flexible=True) + b"\x00",
        "list_groups_v4_states": header(16, 4, flexible=True) +
        compact_array(["Stable", "Empty"], compact_string) + b"\x00",
        "offset_commit_v2": header(8, 2) + g + i32(1) + m + i64(-1) +
        array([0], lambda _: t + array([0], lambda _: commit_v2_partition)),
        "offset_commit_v7": header(8, 7) + g + i32(1) + m + i +
        array([0], lambda _: t + array([0], lambda _: i32(0) + i64(10) + i32(5) + string(None))),
        "offset_fetch_v1": header(9, 1) + g + array([0], lambda _: t + array([0, 1], i32)),
        "offset_fetch_v5_all_topics": header(9, 5) + g + array(None, None),
        "offset_fetch_v6_flexible": header(9, 6, flexible=True) + compact_string("g") +
        compact_array([0], lambda _: compact_string("t") + compact_array([0], i32) + b"\x00") +
        b"\x00",
        "delete_groups_v1": header(42, 1) + array(["g", "h"], string),
        "offset_delete_v0": header(47, 0) + g + array([0], lambda _: t + array([0, 1], i32)),
        "init_producer_id_v1": header(22, 1) + string("x") + i32(60000),
        "init_producer_id_v2_flexible": header(22, 2, flexible=True) + compact_string(None) +
        i32(60000) + b"\x00",
    }


def batch_seeds():
    # First byte: the fuzzer's mode bits (fuzz_batch_validator.cc): 0x01 fix the CRC,
    # 0x02 allow control batches, 0x04 bound timestamps, 0x08 small size limit.
    headers = [(b"trace", b"abc"), (b"n", None)]
    return {
        "example": b"\x00" + EXAMPLE,
        "example_timestamp_bound": b"\x05" + EXAMPLE,
        "null_key_tombstone_headers": b"\x01" + batch(
            [record(0, 0, None, b"v"), record(1, 5, b"k", None, headers)],
            max_ts=1_700_000_000_005),
        "idempotent": b"\x01" + batch([record(0, 0, b"k", b"v")], producer=(7, 0, 0)),
        "gzip_opaque": b"\x01" + batch([], attributes=1, raw_records=b"\x1f\x8b\x08\x00opaque",
                                       count=3),
        # A COMMIT marker: control + transactional, key (version 0, type 1), value (0, epoch 0).
        "control_commit": b"\x03" + batch([record(0, 0, i16(0) + i16(1), i16(0) + i32(0))],
                                          attributes=0x30, producer=(7, 0, -1)),
        "log_append_time": b"\x0d" + batch([record(0, 0, b"k", b"v")], attributes=0x08,
                                           max_ts=1_800_000_000_000),
    }


def connection_seeds(requests):
    """fuzz_connection: byte 0 = number of extra write boundaries (2 bytes each), then the
    stream. Each request alone, in one write; all of them pipelined; and the pipeline cut into
    pieces inside a size prefix and inside a header."""
    framed = {name: i32(len(body)) + body for name, body in sorted(requests.items())}
    seeds = {name: b"\x00" + f for name, f in framed.items()}
    pipeline = b"".join(framed.values())
    seeds["pipelined"] = b"\x00" + pipeline
    seeds["pipelined_cut"] = b"\x03" + i16(2) + i16(9) + i16(len(pipeline) // 2) + pipeline
    return seeds


def write(target, seeds):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for name, data in seeds.items():
        (d / f"seed-{name}").write_bytes(data)
    print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    requests = {**request_seeds(), **group_request_seeds()}
    write("fuzz_request_decoder", requests)
    write("fuzz_batch_validator", batch_seeds())
    write("fuzz_connection", connection_seeds(requests))
