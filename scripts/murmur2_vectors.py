#!/usr/bin/env python3
"""Prints, for src/stream/tests/repartition_test.cc, the partition a real Kafka client's
default partitioner (librdkafka's murmur2_random, through confluent-kafka-python) gives each
of a set of keys, for several partition counts: produce each key to topics of those counts on a
running broker and read the partition from the delivery report.

    python3 scripts/murmur2_vectors.py 127.0.0.1:9092
"""
import sys
import uuid

import confluent_kafka as ck
import confluent_kafka.admin as cka

COUNTS = [4, 7, 97, 256]
KEYS = [b"", b"a", b"ab", b"abc", b"abcd", b"abcde", b"u0", b"u42", b"user-1234",
        b"hello world", b"The quick brown fox jumps over the lazy dog",
        b"\x00", b"\xff\xfe\xfd", b"\x80\x81\x82\x83\x84\x85\x86", "zürich".encode(),
        b"o999999", b"0123456789abcdef"]


def main(bootstrap):
    admin = cka.AdminClient({"bootstrap.servers": bootstrap})
    prefix = "m2-" + uuid.uuid4().hex[:8]
    topics = {n: f"{prefix}-{n}" for n in COUNTS}
    for f in admin.create_topics([cka.NewTopic(t, n, 1) for n, t in topics.items()]).values():
        f.result(30)
    p = ck.Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    got = {}

    def cb(err, msg):
        assert err is None, err
        got[(msg.topic(), msg.key())] = msg.partition()

    for k in KEYS:
        for t in topics.values():
            p.produce(t, key=k, value=b"x", on_delivery=cb)
    assert p.flush(30) == 0
    for k in KEYS:
        parts = ", ".join(str(got[(topics[n], k)]) for n in COUNTS)
        lit = "".join(f"\\x{b:02x}" for b in k)
        print(f'    {{std::string("{lit}", {len(k)}), {{{parts}}}}},')


if __name__ == "__main__":
    main(sys.argv[1])
