#!/usr/bin/env python3
"""End-to-end tests of the `spate` client commands: the real binary against a real broker.

Each test class starts its own `spate broker --port 0` on a temporary data folder and reads
the port from its "ready: Kafka clients can connect to 127.0.0.1:<port>" line. Topic admin
tests ask the broker which APIs it advertises (ApiVersions) and are skipped, with the reason,
for an API it does not serve.

Usage: cli_test.py --spate PATH/TO/spate [--broker PATH/TO/spate] [unittest args, e.g. a
       test class or method name]
--broker runs the broker from another build (e.g. an older one, to see the skips).
"""
import argparse
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

SPATE = None  # path to the binary, from --spate
BROKER = None  # the binary that runs `spate broker` (default: SPATE)

READY = re.compile(r"ready: Kafka clients can connect to ([0-9.]+):(\d+)")

# RecordBatch attributes' codec bits by name (the --compression values).
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

# Kafka API keys the topic commands need.
CREATE_TOPICS, DELETE_TOPICS, DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE_PARTITIONS = 19, 20, 32, 33, 37
API_NAMES = {CREATE_TOPICS: "CreateTopics", DELETE_TOPICS: "DeleteTopics",
             DESCRIBE_CONFIGS: "DescribeConfigs", ALTER_CONFIGS: "AlterConfigs",
             CREATE_PARTITIONS: "CreatePartitions"}


class Broker:
    """A `spate broker` process on a temporary data folder and a free port."""

    def __init__(self, *extra):
        self.dir = tempfile.TemporaryDirectory(prefix="spate-cli-test-")
        self.log_path = os.path.join(self.dir.name, "broker.log")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(
            [BROKER, "broker", "--data-dir", os.path.join(self.dir.name, "data"), "--port", "0",
             "--metrics-port", "0", "--cores", "2", *extra],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = READY.search(f.read())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                self.bootstrap = f"{self.host}:{self.port}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self.log_path) as f:
            raise RuntimeError("broker did not become ready:\n" + f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()

    def api_versions(self):
        """{api_key: (min, max)} from an ApiVersions v0 request."""
        client_id = b"cli-test"
        body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
        with socket.create_connection((self.host, self.port), timeout=10) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", recv_exactly(s, 4))[0]
            data = recv_exactly(s, size)
        _corr, err, n = struct.unpack_from(">ihi", data, 0)
        if err != 0:
            raise RuntimeError(f"ApiVersions error {err}")
        apis = {}
        for i in range(n):
            key, lo, hi = struct.unpack_from(">hhh", data, 10 + 6 * i)
            apis[key] = (lo, hi)
        return apis


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf


def spate(*args, stdin="", timeout=60):
    return subprocess.run([SPATE, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


class BrokerTest(unittest.TestCase):
    broker_flags = ()

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(*cls.broker_flags)
        cls.apis = cls.broker.api_versions()
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def topic(self):
        """A fresh topic name for one test."""
        type(self).counter += 1
        return f"{self._testMethodName.replace('test_', '')}-{self.counter}"

    def run_ok(self, *args, stdin=""):
        r = spate(*args, "--bootstrap", self.broker.bootstrap, stdin=stdin)
        self.assertEqual(r.returncode, 0, f"spate {' '.join(args)} failed:\n{r.stderr}")
        return r.stdout

    def run_fail(self, *args, stdin=""):
        r = spate(*args, "--bootstrap", self.broker.bootstrap, stdin=stdin)
        self.assertNotEqual(r.returncode, 0, f"spate {' '.join(args)} should fail:\n{r.stdout}")
        return r

    def consume_json(self, topic, *flags):
        out = self.run_ok("consume", topic, "--json", "--exit", *flags)
        return [json.loads(line) for line in out.splitlines()]

    def require(self, *keys):
        missing = [API_NAMES[k] for k in keys if k not in self.apis]
        if missing:
            self.skipTest("broker does not advertise " + ", ".join(missing) + " (ApiVersions)")


class ProduceConsumeTest(BrokerTest):
    """spate produce / spate consume round trips (auto-created single-partition topics)."""

    def test_round_trip_keys_headers_values(self):
        topic = self.topic()
        lines = [f"key-{i}:value {i} with spaces, = and : signs" for i in range(50)]
        lines += [":empty key", "key-only:", "k:", "unicode-ключ:значение ✓"]
        self.run_ok("produce", topic, "--key-delimiter", ":", "--header", "trace=abc",
                    "--header", "team=a=b", stdin="\n".join(lines) + "\n")
        got = self.consume_json(topic, "--from", "beginning")
        self.assertEqual(len(got), len(lines))
        for i, (line, rec) in enumerate(zip(lines, got)):
            key, value = line.split(":", 1)
            self.assertEqual((rec["key"], rec["value"]), (key, value), f"record {i}")
            self.assertEqual(rec["offset"], i)
            self.assertEqual(rec["partition"], 0)
            self.assertEqual(rec["topic"], topic)
            self.assertEqual(rec["headers"], [{"key": "trace", "value": "abc"},
                                              {"key": "team", "value": "a=b"}])
            self.assertEqual(rec["timestamp_type"], "create_time")

        # The same records in the text format, compared exactly.
        out = self.run_ok("consume", topic, "--from", "beginning", "--exit",
                          "--format", "{partition}\\t{offset}\\t{key}\\t{headers}\\t{value}")
        want = [f"0\t{i}\t{line.split(':', 1)[0]}\ttrace=abc,team=a=b\t{line.split(':', 1)[1]}"
                for i, line in enumerate(lines)]
        self.assertEqual(out.splitlines(), want)

    def test_default_format_shows_every_field(self):
        topic = self.topic()
        self.run_ok("produce", topic, "-K", "=", "-H", "h=1", "--timestamp", "1700000000000",
                    stdin="k=v\n")
        out = self.run_ok("consume", topic, "--from", "beginning", "--exit")
        self.assertEqual(out, "partition=0 offset=0 timestamp=1700000000000 key=k headers=h=1 "
                              "value=v\n")

    def test_without_key_delimiter_keys_are_null(self):
        topic = self.topic()
        self.run_ok("produce", topic, stdin="a:b\n\nlast")
        got = self.consume_json(topic, "--from", "beginning")
        self.assertEqual([(r["key"], r["value"]) for r in got],
                         [(None, "a:b"), (None, ""), (None, "last")])
        self.assertEqual(got[0]["headers"], [])

    def test_from_timestamp(self):
        topic = self.topic()
        t0 = int(time.time() * 1000) - 60_000
        for i in range(4):
            self.run_ok("produce", topic, "--timestamp", str(t0 + i * 1000), stdin=f"v{i}\n")
        values = lambda *f: [r["value"] for r in self.consume_json(topic, *f)]
        self.assertEqual(values("--from", f"@{t0}"), ["v0", "v1", "v2", "v3"])
        self.assertEqual(values("--from", f"@{t0 + 1000}"), ["v1", "v2", "v3"])
        self.assertEqual(values("--from", f"@{t0 + 1500}"), ["v2", "v3"])
        self.assertEqual(values("--from", f"@{t0 + 3000}"), ["v3"])
        self.assertEqual(values("--from", f"@{t0 + 10_000}"), [])  # none at or after: the end
        got = self.consume_json(topic, "--from", f"@{t0 + 2000}")
        self.assertEqual([r["timestamp"] for r in got], [t0 + 2000, t0 + 3000])

    def test_from_offset_last_end_and_count(self):
        topic = self.topic()
        self.run_ok("produce", topic, stdin="".join(f"m{i}\n" for i in range(10)))
        offsets = lambda *f: [r["offset"] for r in self.consume_json(topic, *f)]
        self.assertEqual(offsets("--from", "7"), [7, 8, 9])
        self.assertEqual(offsets("--from", "0"), list(range(10)))
        self.assertEqual(offsets("--from", "10"), [])  # the end itself is a valid start
        self.assertEqual(offsets("--from", "-2"), [8, 9])
        self.assertEqual(offsets("--from", "end"), [])
        # --count stops without --exit.
        out = self.run_ok("consume", topic, "--from", "beginning", "--count", "3", "-f", "{value}")
        self.assertEqual(out.splitlines(), ["m0", "m1", "m2"])

    def test_offset_beyond_the_end_is_an_error(self):
        topic = self.topic()
        self.run_ok("produce", topic, stdin="x\n")
        r = self.run_fail("consume", topic, "--from", "100", "--exit")
        self.assertIn("Offset out of range", r.stderr)

    def test_acks_and_compression(self):
        combos = [("1", codec) for codec in ("none", "gzip", "snappy", "lz4", "zstd")]
        combos += [("0", "none"), ("all", "zstd")]
        for acks, codec in combos:
            with self.subTest(acks=acks, codec=codec):
                topic = self.topic()
                lines = [f"{codec}-{acks}-{i}-" + "x" * 100 for i in range(20)]
                self.run_ok("produce", topic, "--acks", acks, "--compression", codec,
                            stdin="\n".join(lines))
                got = self.consume_json(topic, "--from", "beginning")
                self.assertEqual([r["value"] for r in got], lines)
                # And the batches were compressed as asked, and stored as sent.
                self.assertEqual(set(self.stored_codecs(topic)), {CODECS[codec]})

    def stored_codecs(self, topic):
        """The codec (attributes & 7) of every batch in partition 0's segment files, read
        from the broker's data folder: RecordBatch v2 headers, docs/formats/record-batch.md."""
        folder = os.path.join(self.broker.dir.name, "data", f"{topic}-0")
        codecs = []
        for name in sorted(f for f in os.listdir(folder) if f.endswith(".log")):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            pos = 0
            while pos + 23 <= len(data):
                length = struct.unpack_from(">i", data, pos + 8)[0]
                if length <= 0:
                    break  # past the data: a zero-filled tail
                codecs.append(struct.unpack_from(">h", data, pos + 21)[0] & 7)
                pos += 12 + length
        self.assertTrue(codecs, f"no batches in {folder}")
        return codecs

    def test_missing_key_delimiter_stops_with_the_line_number(self):
        topic = self.topic()
        r = self.run_fail("produce", topic, "-K", ":", stdin="a:1\nno delimiter\nc:3\n")
        self.assertIn("line 2 has no key delimiter ':'", r.stderr)
        # What came before the bad line was delivered.
        self.assertEqual([r["value"] for r in self.consume_json(topic, "--from", "beginning")],
                         ["1"])

    def test_consume_follows_new_records_until_interrupted(self):
        topic = self.topic()
        self.run_ok("produce", topic, stdin="first\n")
        proc = subprocess.Popen([SPATE, "consume", topic, "--bootstrap", self.broker.bootstrap,
                                 "--from", "beginning", "-f", "{offset}:{value}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(proc.stdout.readline(), "0:first\n")  # reading: now add more
            self.run_ok("produce", topic, stdin="second\nthird\n")
            self.assertEqual(proc.stdout.readline(), "1:second\n")
            self.assertEqual(proc.stdout.readline(), "2:third\n")
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=20), 0, proc.stderr.read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_unknown_topic_to_consume(self):
        r = self.run_fail("consume", "no-such-topic", "--exit")
        self.assertIn("topic 'no-such-topic' does not exist", r.stderr)

    def test_cluster_info_and_topic_list(self):
        topic = self.topic()
        self.run_ok("produce", topic, stdin="x\n")
        out = self.run_ok("cluster", "info")
        self.assertIn(f"0  {self.broker.bootstrap}", out)
        self.assertIn(f"{topic}  1 partition(s)", out)
        self.assertIn(topic, self.run_ok("topic", "list").splitlines())


class MultiPartitionTest(BrokerTest):
    """Auto-created topics get 3 partitions here."""
    broker_flags = ("--num-partitions", "3")

    def test_partition_flag_and_all_partitions(self):
        topic = self.topic()
        for p in range(3):
            self.run_ok("produce", topic, "--partition", str(p), "-K", ":",
                        stdin="".join(f"k{p}-{i}:p{p}-{i}\n" for i in range(p + 2)))
        got = self.consume_json(topic, "--from", "beginning")
        by_partition = {}
        for r in got:
            by_partition.setdefault(r["partition"], []).append((r["offset"], r["key"], r["value"]))
        self.assertEqual(sorted(by_partition), [0, 1, 2])
        for p in range(3):
            self.assertEqual(by_partition[p],
                             [(i, f"k{p}-{i}", f"p{p}-{i}") for i in range(p + 2)])
        one = self.consume_json(topic, "--from", "beginning", "--partition", "2")
        self.assertEqual([r["value"] for r in one], [f"p2-{i}" for i in range(4)])
        r = self.run_fail("consume", topic, "--partition", "7", "--exit")
        self.assertIn("no partition 7", r.stderr)

    def test_same_key_same_partition(self):
        topic = self.topic()
        self.run_ok("produce", topic, "-K", ":",
                    stdin="".join(f"user-{i % 4}:{i}\n" for i in range(40)))
        got = self.consume_json(topic, "--from", "beginning")
        self.assertEqual(len(got), 40)
        partition_of = {}
        for r in got:
            self.assertEqual(partition_of.setdefault(r["key"], r["partition"]), r["partition"])


class TopicCommandTest(BrokerTest):
    """spate topic ...: needs the broker's admin APIs; skipped per API when not advertised."""

    def describe(self, topic):
        return self.run_ok("topic", "describe", topic)

    def test_create_list_describe_delete(self):
        self.require(CREATE_TOPICS, DELETE_TOPICS)
        topic = self.topic()
        out = self.run_ok("topic", "create", topic, "--partitions", "3",
                          "--config", "retention.ms=3600000")
        self.assertIn(f"created topic '{topic}'", out)
        self.assertIn(topic, self.run_ok("topic", "list").splitlines())
        desc = self.describe(topic)
        self.assertIn("partitions: 3", desc)
        for p in range(3):
            self.assertIn(f"partition {p}  leader 0  replicas [0]  isr [0]", desc)
        if DESCRIBE_CONFIGS in self.apis:
            self.assertIn("retention.ms=3600000", desc)
        self.run_ok("topic", "delete", topic)
        self.assertNotIn(topic, self.run_ok("topic", "list").splitlines())
        r = self.run_fail("topic", "describe", topic)
        self.assertIn("does not exist", r.stderr)

    def test_create_existing_and_delete_missing(self):
        self.require(CREATE_TOPICS, DELETE_TOPICS)
        topic = self.topic()
        self.run_ok("topic", "create", topic)
        r = self.run_fail("topic", "create", topic)
        self.assertIn("already exists", r.stderr)
        self.run_ok("topic", "create", topic, "--if-not-exists")
        self.run_ok("topic", "delete", topic)
        r = self.run_fail("topic", "delete", topic)
        self.assertIn("unknown topic", r.stderr)
        self.run_ok("topic", "delete", topic, "--if-exists")

    def test_create_refuses_bad_input_with_the_brokers_reason(self):
        self.require(CREATE_TOPICS)
        r = self.run_fail("topic", "create", "bad name!")
        self.assertIn("create topic 'bad name!'", r.stderr)
        r = self.run_fail("topic", "create", self.topic(), "--config", "no.such.config=1")
        self.assertIn("no.such.config", r.stderr)

    def test_alter_config_keeps_the_other_overrides(self):
        self.require(CREATE_TOPICS, DESCRIBE_CONFIGS, ALTER_CONFIGS)
        topic = self.topic()
        self.run_ok("topic", "create", topic, "-c", "retention.ms=3600000")
        self.run_ok("topic", "alter-config", topic, "--config", "segment.bytes=1048576")
        desc = self.describe(topic)
        self.assertIn("retention.ms=3600000", desc)
        self.assertIn("segment.bytes=1048576", desc)
        self.run_ok("topic", "alter-config", topic, "--delete-config", "retention.ms")
        desc = self.describe(topic)
        self.assertNotIn("retention.ms=3600000", desc)
        self.assertIn("segment.bytes=1048576", desc)
        self.assertIn("segment.bytes=1048576  (DYNAMIC_TOPIC_CONFIG)",
                      self.run_ok("topic", "describe", topic, "--all-configs"))
        r = self.run_fail("topic", "alter-config", topic, "-c", "retention.ms=not-a-number")
        self.assertIn("retention.ms", r.stderr)

    def test_add_partitions(self):
        self.require(CREATE_TOPICS, CREATE_PARTITIONS)
        topic = self.topic()
        self.run_ok("topic", "create", topic, "-p", "1")
        self.run_ok("topic", "add-partitions", topic, "-p", "4")
        self.assertIn("partitions: 4", self.describe(topic))
        r = self.run_fail("topic", "add-partitions", topic, "-p", "2")
        self.assertIn("INVALID_PARTITIONS", r.stderr)
        # The new partitions take records.
        self.run_ok("produce", topic, "--partition", "3", stdin="late\n")
        got = self.consume_json(topic, "--from", "beginning", "--partition", "3")
        self.assertEqual([r["value"] for r in got], ["late"])

    def test_missing_admin_api_is_reported_as_such(self):
        missing = [k for k in API_NAMES if k not in self.apis]
        if not missing:
            self.skipTest("broker advertises every admin API; nothing missing to report")
        command = {CREATE_TOPICS: ("topic", "create", "x"), DELETE_TOPICS: ("topic", "delete", "x"),
                   DESCRIBE_CONFIGS: ("topic", "alter-config", "x", "-c", "a=b"),
                   ALTER_CONFIGS: None, CREATE_PARTITIONS: ("topic", "add-partitions", "x", "-p", "2")}
        for k in missing:
            if command[k]:
                r = self.run_fail(*command[k])
                self.assertIn("not supported by the broker", r.stderr)


class FailureTest(unittest.TestCase):
    """Unreachable brokers and bad flags: a clear message and a non-zero exit."""

    def unreachable(self, timeout_ms, *args, stdin=""):
        start = time.monotonic()
        extra = ("--timeout-ms", str(timeout_ms)) if timeout_ms else ()
        r = spate(*args, "--bootstrap", "127.0.0.1:1", *extra, stdin=stdin, timeout=60)
        elapsed = time.monotonic() - start
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot reach broker at 127.0.0.1:1", r.stderr)
        self.assertIn("Connection refused", r.stderr)
        budget = (timeout_ms or 10_000) / 1000
        self.assertLess(elapsed, budget + 3, f"took {elapsed:.1f}s for a {budget}s timeout")
        return r

    def test_unreachable_broker_every_command(self):
        for args in (("topic", "list"), ("topic", "create", "t"), ("topic", "describe", "t"),
                     ("cluster", "info"), ("consume", "t", "--exit"), ("produce", "t")):
            with self.subTest(args=args):
                r = self.unreachable(1500, *args, stdin="x\n")
                self.assertEqual(r.returncode, 1)

    def test_unreachable_broker_default_timeout(self):
        r = self.unreachable(None, "topic", "list")
        self.assertIn("within 10000 ms", r.stderr)

    def test_bad_flags(self):
        cases = [
            (("topic", "list", "--bogus"), "--bogus"),
            (("topic", "create"), "name is required"),
            (("topic", "frobnicate"), "subcommand is required"),
            (("produce", "t", "--acks", "2"), "--acks"),
            (("produce", "t", "--compression", "brotli"), "--compression"),
            (("produce", "t", "--header", "novalue"), "--header wants key=value"),
            (("produce", "t", "--partition", "-1"), "--partition"),
            (("consume", "t", "--from", "yesterday"), "start position must be"),
            (("consume", "t", "--from", "@soon"), "start position must be"),
            (("consume", "t", "--format", "{nope}"), "unknown placeholder {nope}"),
            (("consume", "t", "--json", "--format", "{value}"), "excludes"),
            (("consume", "t", "--count", "0"), "--count"),
            (("topic", "alter-config", "t"), "nothing to change"),
            (("topic", "list", "--timeout-ms", "5"), "--timeout-ms"),
            (("topic", "list", "-X", "nonsense"), "--property wants key=value"),
            (("topic", "list", "-X", "no.such.property=1"), "no.such.property"),
            ((), "A subcommand is required"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                r = spate(*args, "--bootstrap", "127.0.0.1:1", timeout=30) if args else spate()
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(needle, r.stderr)

    def test_help_exits_zero(self):
        for args in (("--help",), ("consume", "--help"), ("topic", "create", "--help")):
            r = spate(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("--", r.stdout)


def main():
    global SPATE, BROKER
    parser = argparse.ArgumentParser()
    parser.add_argument("--spate", required=True)
    parser.add_argument("--broker")
    args, rest = parser.parse_known_args()
    SPATE = os.path.abspath(args.spate)
    BROKER = os.path.abspath(args.broker or args.spate)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
