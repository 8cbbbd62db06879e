"""Client-side helpers shared by the integration tests: polling, kcat, confluent-kafka.

Synchronisation is always a bounded poll on a condition (wait_for), never a bare sleep.
"""

import json
import shutil
import subprocess
import time
import urllib.request
import uuid

import confluent_kafka as ck
from confluent_kafka.admin import ConfigResource
import pytest

import kafka_wire


def unique_topic(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns a truthy value, which is returned; fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = cond()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} "
                                 f"(last value: {last!r})")
        time.sleep(interval)


# --- ApiVersions gating for APIs that are still being added ---------------------------------


def require_api(bootstrap, api_key, min_version=None):
    """Skips the test unless the broker advertises `api_key` (ApiVersions v0), and, when
    min_version is given, a range that includes it. A client that needs an exact version
    (librdkafka's AlterConfigs/CreatePartitions v0) is *not* skipped on a range mismatch if
    min_version is None: the mismatch is a bug the test should report."""
    versions = kafka_wire.advertised_versions(bootstrap)
    name = kafka_wire.API_NAMES.get(api_key, str(api_key))
    if api_key not in versions:
        pytest.skip(f"broker does not advertise {name} (key {api_key}) in ApiVersions; "
                    f"advertised keys: {sorted(versions)}")
    lo, hi = versions[api_key]
    if min_version is not None and not lo <= min_version <= hi:
        pytest.skip(f"broker advertises {name} v{lo}-{hi}, which excludes v{min_version}")
    return versions[api_key]


def fetch_all_batches(bootstrap, topic, partition, start=0):
    """Every batch header of a partition, read with raw Fetch v5 requests; checks that the
    batches tile the offsets from `start` to the high watermark without gaps or overlaps."""
    batches = []
    with kafka_wire.Conn.to(bootstrap) as c:
        offset = start
        while True:
            p = c.fetch(topic, partition, offset)
            assert p.error_code == 0, p
            if not p.batches:
                assert offset == p.high_watermark, (offset, p)
                return batches
            for b in p.batches:
                if batches:
                    assert b.base_offset == offset, f"gap or overlap at {offset}: {b}"
                else:
                    assert b.base_offset <= offset <= b.last_offset, (offset, b)
                assert b.last_offset - b.base_offset + 1 == b.record_count, b
                batches.append(b)
                offset = b.last_offset + 1


# --- kcat -------------------------------------------------------------------------------------


def kcat_path():
    path = shutil.which("kcat")
    assert path, "kcat not installed (scripts/setup.sh installs it)"
    return path


def kcat(bootstrap, *args, input=None, timeout=60):
    """Runs kcat against the broker; returns stdout (bytes), failing the test on non-zero exit."""
    cmd = [kcat_path(), "-b", bootstrap] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{cmd} did not finish within {timeout} s; stderr:\n"
                             f"{(e.stderr or b'').decode(errors='replace')[-4000:]}")
    assert p.returncode == 0, (f"{cmd} exited {p.returncode}; stderr:\n"
                               f"{p.stderr.decode(errors='replace')[-4000:]}")
    return p.stdout


def kcat_consume(bootstrap, topic, *extra, timeout=60):
    """Consumes a whole topic from the beginning to its end (-e) as kcat JSON records, with
    CRC checking on (kafka-compat.md P17)."""
    out = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J",
               "-X", "check.crcs=true", *extra, timeout=timeout)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --- confluent-kafka --------------------------------------------------------------------------


def producer(bootstrap, **conf):
    c = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return ck.Producer(c)


def produce_all(p, messages, timeout=60):
    """Produces (topic, partition|None, key, value, headers, timestamp) tuples; returns the
    delivery reports [(msg index, err, partition, offset)] in index order after a flush."""
    reports = {}

    def cb(i):
        def on_delivery(err, msg):
            reports[i] = (err, msg.partition(), msg.offset())
        return on_delivery

    for i, (topic, partition, key, value, headers, ts) in enumerate(messages):
        kw = {"key": key, "value": value, "on_delivery": cb(i)}
        if partition is not None:
            kw["partition"] = partition
        if headers:
            kw["headers"] = headers
        if ts is not None:
            kw["timestamp"] = ts
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(timeout)
    assert remaining == 0, f"{remaining} messages still undelivered after {timeout} s"
    assert len(reports) == len(messages)
    return [reports[i] for i in range(len(messages))]


def consumer(bootstrap, **conf):
    """A consumer for assign()-based reading. confluent-kafka 1.7.0 insists on a group.id, but
    nothing here subscribes or commits, so no group protocol request is needed."""
    c = {"bootstrap.servers": bootstrap, "group.id": f"unused-{uuid.uuid4().hex[:8]}",
         "enable.auto.commit": False, "enable.auto.offset.store": False,
         "enable.partition.eof": True, "auto.offset.reset": "error", "check.crcs": True}
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return ck.Consumer(c)


def watermarks(bootstrap, topic, partition, timeout=10):
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(ck.TopicPartition(topic, partition), timeout=timeout)
    finally:
        c.close()


def ck_topic_configs(admin, topic):
    """A topic's configs as DescribeConfigs returns them to a confluent-kafka AdminClient:
    {name: value}."""
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([res], request_timeout=15)[res].result(30)
    return {name: e.value for name, e in entries.items()}


def consume_range(bootstrap, topic, partitions, start=0, timeout=60, **conf):
    """Reads every partition from `start` to its current high watermark with assign().
    Returns {partition: [Message]} and fails on any consumer error."""
    c = consumer(bootstrap, **conf)
    try:
        ends = {}
        for p in partitions:
            lo, hi = c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)
            ends[p] = hi
        out = {p: [] for p in partitions}
        todo = {p for p in partitions if ends[p] > start}
        if not todo:
            return out
        c.assign([ck.TopicPartition(topic, p, start) for p in todo])
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, (
                f"consumed {sum(len(v) for v in out.values())} messages; partitions {todo} "
                f"not at their end {ends} within {timeout} s")
            for m in c.consume(1000, 0.5):
                if m.error():
                    if m.error().code() == ck.KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consumer error: {m.error()}")
                out[m.partition()].append(m)
                if m.offset() + 1 >= ends[m.partition()]:
                    todo.discard(m.partition())
        return out
    finally:
        c.close()


# --- load and crash -----------------------------------------------------------------------------


class AckedLoad:
    """A confluent-kafka producer (acks=all) writing unique keyed messages as fast as it can,
    remembering every message whose delivery report succeeded: {(partition, offset): (key,
    value)}. Used to SIGKILL the broker mid-stream and then check no acknowledged write is lost.

        load = AckedLoad(bootstrap, topic)
        load.run_until(lambda: load.acked_count >= 20000, on_reached=broker.kill)
    """

    def __init__(self, bootstrap, topic, tag="", **conf):
        settings = {"linger_ms": 2, "message_timeout_ms": 10000, "acks": "all"}
        settings.update(conf)
        self.producer = producer(bootstrap, **settings)
        self.topic = topic
        self.tag = tag
        self.sent = 0
        self.acked = {}
        self.failed = 0

    @property
    def acked_count(self):
        return len(self.acked)

    def _on_delivery(self, err, msg):
        if err is None:
            where = (msg.partition(), msg.offset())
            assert where not in self.acked, f"offset {where} acknowledged twice"
            self.acked[where] = (msg.key(), msg.value())
        else:
            self.failed += 1

    def run_until(self, reached, on_reached, extra_after=2000, timeout=120):
        """Produces until reached() holds, calls on_reached() (e.g. broker.kill) while requests
        are in flight, queues `extra_after` more messages, then purges whatever the dead broker
        will never answer and waits for every delivery report."""
        deadline = time.monotonic() + timeout
        p = self.producer
        fired = False
        after = 0
        while not fired or after < extra_after:
            assert time.monotonic() < deadline, (
                f"load did not reach its trigger in {timeout} s: {self.acked_count} acked")
            key = f"{self.tag}k{self.sent}".encode()
            value = f"{self.tag}v{self.sent}-".encode() * (1 + self.sent % 7)
            try:
                p.produce(self.topic, key=key, value=value, on_delivery=self._on_delivery)
                self.sent += 1
                after += fired
            except BufferError:
                p.poll(0.01)
            p.poll(0)
            if not fired and reached():
                on_reached()
                fired = True
        p.purge(in_queue=True, in_flight=True, blocking=False)
        left = p.flush(30)
        assert left == 0, f"{left} delivery reports missing after purge"
        assert self.acked_count + self.failed == self.sent, (self.acked_count, self.failed,
                                                             self.sent)

    def check_survived(self, bootstrap, partitions, acked=None):
        """Every acknowledged message (this load's, or the given {(partition, offset): (key,
        value)}) is at its acknowledged offset, byte-identical. Returns the consumed messages
        {partition: [Message]}."""
        acked = self.acked if acked is None else acked
        got = consume_range(bootstrap, self.topic, partitions, timeout=120)
        stored = {}
        for part, ms in got.items():
            assert [m.offset() for m in ms] == list(range(len(ms))), (
                f"partition {part}: offsets are not contiguous from 0")
            for m in ms:
                stored[(part, m.offset())] = (m.key(), m.value())
        lost = [w for w in acked if w not in stored]
        changed = [w for w in acked if w in stored and stored[w] != acked[w]]
        assert not lost, (f"{len(lost)} of {len(acked)} acknowledged messages lost, e.g. "
                          f"{sorted(lost)[:5]}; partition ends "
                          f"{ {p: len(ms) for p, ms in got.items()} }")
        assert not changed, (f"{len(changed)} acknowledged offsets hold other data, e.g. "
                             f"{[(w, acked[w], stored[w]) for w in sorted(changed)[:3]]}")
        return got


def scrape_value(broker, sample):
    """The value of one unlabelled sample on the broker's metrics endpoint (0 if absent)."""
    url = f"http://127.0.0.1:{broker.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[1])
    return 0.0
