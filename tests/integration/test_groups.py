"""Consumer groups (kafka-compat.md §10) with real clients and raw requests: members dying,
broker restarts, kafka-python and kcat group consumers, cooperative-sticky, static membership,
bad coordinator input, standalone commits and the __consumer_offsets topic.

Group members that must be SIGKILLed run as separate processes (group_member.py), writing what
they consumed and committed to a file that the test reads. Every first join of a group waits
for the broker's group.initial.rebalance.delay (3 s), so the waits below allow for it.
"""

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import confluent_kafka as ck
import confluent_kafka.admin  # noqa: F401  (ck.admin)
import kafka
import pytest
from kafka.structs import TopicPartition as KTopicPartition

import kafka_wire
from helpers import (kcat, produce_all, producer, unique_topic, wait_for, watermarks)

HERE = Path(__file__).resolve().parent
SESSION_MS = 6000
GROUP_CONF = {"session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
              "enable.auto.commit": False, "auto.offset.reset": "earliest"}


def unique_group(prefix="g"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def group_consumer(bootstrap, group, **conf):
    c = {"bootstrap.servers": bootstrap, "group.id": group}
    c.update(GROUP_CONF)
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return ck.Consumer(c)


def fill(bootstrap, topic, partitions, per_partition, tag="m"):
    """Writes per_partition messages to each partition; returns the delivered (p, o) set."""
    msgs = [(topic, p, f"{tag}{p}-{i}".encode(), f"v{i}".encode(), None, None)
            for i in range(per_partition) for p in range(partitions)]
    reports = produce_all(producer(bootstrap), msgs)
    assert all(err is None for err, _, _ in reports), [r for r in reports if r[0]][:3]
    return {(p, o) for _, p, o in reports}


def ends(bootstrap, topic, partitions):
    return {p: watermarks(bootstrap, topic, p)[1] for p in range(partitions)}


def describe(bootstrap, group):
    """(state, protocol, [members]) from DescribeGroups via confluent's list_groups."""
    admin = ck.admin.AdminClient({"bootstrap.servers": bootstrap})
    infos = admin.list_groups(group, timeout=10)
    assert len(infos) == 1, infos
    g = infos[0]
    assert g.error is None, g.error
    return g.state, g.protocol, g.members


def consume_until(consumer, want, timeout, what):
    """Polls a subscribed consumer until want(seen) holds; returns [(partition, offset)]."""
    seen = []
    deadline = time.monotonic() + timeout
    while not want(seen):
        assert time.monotonic() < deadline, f"{what}: {len(seen)} consumed in {timeout} s"
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == ck.KafkaError._PARTITION_EOF, m.error()
            continue
        seen.append((m.partition(), m.offset()))
    return seen


# --- group members as processes ----------------------------------------------------------------


class Member:
    """A group_member.py process and the events it reported."""

    def __init__(self, tmp_path, name, bootstrap, group, topic, **conf):
        self.name = name
        self.out = tmp_path / f"{name}.out"
        self.err = tmp_path / f"{name}.err"
        extra = dict(GROUP_CONF)
        extra.update(conf)
        with open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "group_member.py"), bootstrap, group, topic,
                 str(self.out), json.dumps(extra)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err)

    def events(self):
        if not self.out.exists():
            return []
        lines = self.out.read_text().splitlines()
        return [ln.split(" ", 3) for ln in lines if ln]

    def assigned(self):
        """Current assignment (A adds, R removes; eager revokes everything first)."""
        parts = set()
        for ev in self.events():
            if ev[0] in ("A", "R") and len(ev) > 1 and ev[1]:
                ps = {int(x) for x in ev[1].split(",")}
                parts = parts | ps if ev[0] == "A" else parts - ps
        return parts

    def consumed(self):
        return [(int(ev[1]), int(ev[2])) for ev in self.events() if ev[0] == "M"]

    def committed(self):
        """{partition: highest acknowledged committed offset}."""
        out = {}
        for ev in self.events():
            if ev[0] == "C":
                p, o = int(ev[1]), int(ev[2])
                out[p] = max(out.get(p, -1), o)
        return out

    def failed_commits(self):
        return [ev for ev in self.events() if ev[0] == "F"]

    def errors(self):
        return [" ".join(ev) for ev in self.events() if ev[0] == "E"]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"member {self.name} did not close within {timeout} s; "
                                 f"stderr: {self.err.read_text()[-2000:]}")

    def describe(self):
        return (f"{self.name}: rc={self.proc.poll()} assigned={sorted(self.assigned())} "
                f"consumed={len(self.consumed())} errors={self.errors()[:3]} "
                f"stderr={self.err.read_text()[-500:]!r}")


@pytest.fixture
def members(tmp_path):
    started = []

    def start(*args, **conf):
        m = Member(tmp_path, f"member{len(started)}", *args, **conf)
        started.append(m)
        return m

    yield start
    for m in started:
        if m.proc.poll() is None:
            m.proc.kill()
            m.proc.wait()


class Load:
    """A background producer writing to every partition in turn at a steady rate."""

    def __init__(self, bootstrap, topic, partitions, rate=300):
        self.p = producer(bootstrap)
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.delivered = set()
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _cb(self, err, msg):
        if err is None:
            self.delivered.add((msg.partition(), msg.offset()))
        else:
            self.errors.append(err)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self.p.produce(self.topic, value=f"load-{i}".encode(), partition=i % self.partitions,
                           on_delivery=self._cb)
            i += 1
            self.p.poll(0)
            time.sleep(1.0 / self.rate)
        assert self.p.flush(30) == 0

    def stop(self):
        self._stop.set()
        self._thread.join(40)
        assert not self._thread.is_alive(), "producer did not finish"
        assert not self.errors, self.errors[:3]
        return self.delivered


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_killed_member_partitions_taken_over(make_broker, members):
    """Three members share 6 partitions under load; one is SIGKILLed. The survivors take its
    partitions once its session expires, and every produced message is consumed; a message is
    consumed twice only if the first reader never got its commit acknowledged."""
    b = make_broker("--num-partitions", "6")
    topic, group = unique_topic("kill"), unique_group("kill")
    delivered = fill(b.bootstrap, topic, 6, 20)
    ms = [members(b.bootstrap, group, topic) for _ in range(3)]
    wait_for(lambda: all(m.assigned() for m in ms) and
             set().union(*(m.assigned() for m in ms)) == set(range(6)) and
             sum(len(m.assigned()) for m in ms) == 6, 30,
             "3 members sharing 6 partitions")
    load = Load(b.bootstrap, topic, 6)
    victim, survivors = ms[0], ms[1:]
    before = len(victim.consumed())
    wait_for(lambda: len(victim.consumed()) >= before + 30, 20, "the victim consuming the load")
    victim_parts = victim.assigned()
    victim.kill()
    killed_at = time.monotonic()
    victim_consumed = victim.consumed()  # final: the process is gone
    victim_last = {p: max(o for q, o in victim_consumed if q == p) for p in victim_parts
                   if any(q == p for q, _ in victim_consumed)}

    def taken_over():
        mine = set().union(*(s.assigned() for s in survivors))
        return victim_parts <= mine and mine == set(range(6))

    wait_for(taken_over, SESSION_MS / 1000 + 10,
             f"survivors taking over {sorted(victim_parts)}: "
             + "; ".join(s.describe() for s in survivors))
    took = time.monotonic() - killed_at
    # ... and actually read past where the victim stopped.
    wait_for(lambda: all(any(q == p and o > victim_last.get(p, -1)
                             for s in survivors for q, o in s.consumed())
                         for p in victim_parts), 15, "survivors consuming the victim's partitions")
    delivered |= load.stop()

    def everything():
        got = set(victim_consumed)
        for s in survivors:
            got.update(s.consumed())
        return not (delivered - got)

    try:
        wait_for(everything, 30, "every produced message consumed")
    except AssertionError:
        got = set(victim_consumed).union(*(set(s.consumed()) for s in survivors))
        missing = sorted(delivered - got)
        raise AssertionError(f"{len(missing)} of {len(delivered)} messages never consumed, e.g. "
                             f"{missing[:10]}; " + "; ".join(m.describe() for m in ms))
    for s in survivors:
        s.stop()
    for s in survivors:
        assert not s.errors(), s.describe()

    # Duplicates: allowed for the victim's uncommitted tail, and for a message whose reader's
    # commit failed (a rebalance took the partition away between processing and committing).
    victim_committed = victim.committed()
    failed = {(int(ev[1]), int(ev[2]) - 1) for s in ms for ev in s.failed_commits()}
    readers = {}
    for m in ms:
        for po in (victim_consumed if m is victim else m.consumed()):
            readers.setdefault(po, []).append(m.name)
    bad = []
    for (p, o), who in readers.items():
        if len(who) == 1:
            continue
        if victim.name in who and o >= victim_committed.get(p, 0):
            continue
        if (p, o) in failed:
            continue
        bad.append(((p, o), who))
    assert not bad, (f"{len(bad)} messages consumed more than once outside the killed member's "
                     f"uncommitted range, e.g. {sorted(bad)[:10]}; victim committed "
                     f"{victim_committed}")
    assert took <= SESSION_MS / 1000 + 10, took
    dups = sum(1 for who in readers.values() if len(who) > 1)
    print(f"takeover {took:.1f} s after SIGKILL; {len(delivered)} messages, {dups} read twice")


@pytest.mark.timeout(90)
def test_committed_offsets_survive_restart(broker):
    """A consumer commits part of a topic; the broker restarts (same port) while the consumer
    is still in the group; committed() is unchanged and a fresh member of the group starts
    exactly at the committed offsets."""
    topic, group = unique_topic("rs"), unique_group("rs")
    fill(broker.bootstrap, topic, 3, 100)
    c = group_consumer(broker.bootstrap, group)
    c.subscribe([topic])
    consume_until(c, lambda seen: len(seen) >= 150 and len({p for p, _ in seen}) == 3, 30,
                  "about half, from every partition")
    c.commit(asynchronous=False)
    parts = [ck.TopicPartition(topic, p) for p in range(3)]
    before = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    assert sum(before.values()) >= 150 and min(before.values()) > 0, before

    broker.restart(keep_port=True)

    def committed_again():
        try:
            return {tp.partition: tp.offset for tp in c.committed(parts, timeout=5)}
        except ck.KafkaException:
            return None  # coordinator still reconnecting

    after = wait_for(committed_again, 30, "committed() after the restart")
    assert after == before
    c.close()

    fresh = group_consumer(broker.bootstrap, group)
    fresh.subscribe([topic])
    end = ends(broker.bootstrap, topic, 3)
    todo = sum(end[p] - before[p] for p in range(3))
    seen = consume_until(fresh, lambda s: len(s) >= todo, 30, "the rest after the restart")
    fresh.close()
    below = [(p, o) for p, o in seen if o < before[p]]
    assert not below, f"re-delivered below the committed offsets {before}: {below[:10]}"
    assert sorted(seen) == sorted((p, o) for p in range(3) for o in range(before[p], end[p]))


@pytest.mark.timeout(60)
def test_kafka_python_group_consumer(bootstrap):
    """kafka-python's KafkaConsumer (JoinGroup v2, OffsetCommit v2, OffsetFetch v1) consumes
    a topic as a group member and commits; the commit is readable with OffsetFetch v1."""
    topic, group = unique_topic("kp"), unique_group("kp")
    fill(bootstrap, topic, 3, 20)
    c = kafka.KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                            auto_offset_reset="earliest", enable_auto_commit=False,
                            session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500,
                            consumer_timeout_ms=1000)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 60:
        assert time.monotonic() < deadline, f"kafka-python consumed {len(got)} of 60"
        for batch in c.poll(timeout_ms=500).values():
            got.extend((r.partition, r.offset) for r in batch)
    c.commit()
    assert sorted(got) == sorted((p, o) for p in range(3) for o in range(20))
    for p in range(3):
        assert c.committed(KTopicPartition(topic, p)) == 20
    c.close()
    with kafka_wire.Conn.to(bootstrap) as conn:
        fetched = conn.offset_fetch(group, topic, [0, 1, 2])
    assert fetched == {p: (20, fetched[p][1], 0) for p in range(3)}, fetched


@pytest.mark.timeout(60)
def test_kcat_group_consumer(bootstrap):
    """kcat -G (balanced consumer) reads the whole topic and its offsets get committed."""
    topic, group = unique_topic("kg"), unique_group("kg")
    fill(bootstrap, topic, 3, 10)
    out = kcat(bootstrap, "-G", group, "-e", "-q", "-J", "-X", "auto.offset.reset=earliest",
               "-X", f"session.timeout.ms={SESSION_MS}", "-X", "heartbeat.interval.ms=500",
               topic, timeout=40)
    recs = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    assert sorted((r["partition"], r["offset"]) for r in recs) == sorted(
        (p, o) for p in range(3) for o in range(10))
    with kafka_wire.Conn.to(bootstrap) as conn:
        fetched = conn.offset_fetch(group, topic, [0, 1, 2])
    assert {p: v[0] for p, v in fetched.items()} == {0: 10, 1: 10, 2: 10}, fetched


@pytest.mark.timeout(60)
def test_cooperative_sticky_two_members(make_broker, members):
    """librdkafka's cooperative-sticky assignor with two members: every partition is owned by
    exactly one member, both get some, and everything produced is consumed."""
    b = make_broker("--num-partitions", "6")
    topic, group = unique_topic("coop"), unique_group("coop")
    delivered = fill(b.bootstrap, topic, 6, 10)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    first = members(b.bootstrap, group, topic, **conf)
    wait_for(lambda: first.assigned() == set(range(6)), 20, "the first member owning all")
    second = members(b.bootstrap, group, topic, **conf)

    def split():
        a, s = first.assigned(), second.assigned()
        return a and s and not (a & s) and (a | s) == set(range(6))

    wait_for(split, 30, "two members splitting 6 partitions: "
             f"{first.describe()}; {second.describe()}")
    delivered |= fill(b.bootstrap, topic, 6, 10, tag="late")
    wait_for(lambda: delivered <= set(first.consumed()) | set(second.consumed()), 20,
             "every message consumed")
    state, protocol, ms = describe(b.bootstrap, group)
    assert (state, protocol, len(ms)) == ("Stable", "cooperative-sticky", 2)
    a, s = first.assigned(), second.assigned()
    assert len(a) == 3 and len(s) == 3, (a, s)
    for m in (first, second):
        m.stop()
        assert not m.errors(), m.describe()


@pytest.mark.timeout(60)
def test_static_member_rejoins_without_rebalance(make_broker, members):
    """A static member (group.instance.id) closes without LeaveGroup; a new process with the
    same instance id takes its place within the session timeout, continues from the committed
    offsets, and the group still has one member. (DescribeGroups carries no generation, so
    "no rebalance" is not observable here; the coordinator unit tests cover it.)"""
    b = make_broker("--num-partitions", "3")
    topic, group = unique_topic("static"), unique_group("static")
    first_batch = fill(b.bootstrap, topic, 3, 10)
    conf = {"group.instance.id": "instance-1"}
    m1 = members(b.bootstrap, group, topic, **conf)
    wait_for(lambda: set(m1.consumed()) >= first_batch, 20, "the first process consuming")
    wait_for(lambda: m1.committed() == {0: 10, 1: 10, 2: 10}, 10, "its commits")
    m1.stop()
    closed_at = time.monotonic()
    m2 = members(b.bootstrap, group, topic, **conf)
    wait_for(lambda: m2.assigned() == {0, 1, 2}, SESSION_MS / 1000, "the same instance rejoining")
    rejoined = time.monotonic() - closed_at
    second_batch = fill(b.bootstrap, topic, 3, 10, tag="second")
    wait_for(lambda: set(m2.consumed()) >= second_batch, 20, "the second process consuming")
    assert not set(m2.consumed()) & first_batch, "re-read below the committed offsets"
    state, _, ms = describe(b.bootstrap, group)
    assert state == "Stable" and len(ms) == 1, (state, ms)
    assert ms[0].id.startswith("instance-1"), ms[0].id
    m2.stop()
    assert not m2.errors(), m2.describe()
    print(f"rejoined in {rejoined:.1f} s")


def _bad_input_main(bootstrap, group):
    with kafka_wire.Conn.to(bootstrap, timeout=20) as c:
        assert c.heartbeat(group, 1, "nobody") == kafka_wire.ERR_UNKNOWN_MEMBER_ID
        r = c.join_group(group, session_timeout_ms=10)
        assert r.error_code == kafka_wire.ERR_INVALID_SESSION_TIMEOUT, r
        # v4 with no member id: MEMBER_ID_REQUIRED and an id to come back with.
        r = c.join_group(group, version=4)
        assert r.error_code == kafka_wire.ERR_MEMBER_ID_REQUIRED and r.member_id, r
        pending_id = r.member_id
        # v2 never gets 79: admitted at once (answered when the join phase ends).
        v2 = c.join_group(group, version=2)
        assert v2.error_code == 0 and v2.member_id and v2.generation_id >= 1, v2
        assert v2.leader == v2.member_id and len(v2.members) == 1, v2
        err, _ = c.sync_group(group, v2.generation_id, v2.member_id, [(v2.member_id, b"")])
        assert err == 0
        assert c.heartbeat(group, v2.generation_id, v2.member_id) == 0
        assert c.heartbeat(group, v2.generation_id + 7, v2.member_id) == \
            kafka_wire.ERR_ILLEGAL_GENERATION
        assert c.heartbeat(group, v2.generation_id - 1, v2.member_id) == \
            kafka_wire.ERR_ILLEGAL_GENERATION
        assert c.heartbeat(group, v2.generation_id, "nobody") == \
            kafka_wire.ERR_UNKNOWN_MEMBER_ID
        assert c.leave_group(group, v2.member_id) == 0
        # The pending v4 id is accepted when it comes back (the group is Empty again).
        r = c.join_group(group, member_id=pending_id, version=4)
        assert r.error_code == 0 and r.member_id == pending_id, r
        assert c.leave_group(group, pending_id) == 0


def _bad_input_v3(bootstrap):
    with kafka_wire.Conn.to(bootstrap, timeout=20) as c:
        g = unique_group("v3")
        r = c.join_group(g, version=3)
        assert r.error_code == 0 and r.member_id, r
        assert c.leave_group(g, r.member_id) == 0


def _bad_input_big(bootstrap):
    # 1 MB of protocol metadata: answered one way or another, and the broker lives on.
    g = unique_group("big")
    with kafka_wire.Conn.to(bootstrap, timeout=20) as c:
        r = c.join_group(g, protocols=[("range", b"\x00" * (1 << 20))], version=2)
        if r.error_code == 0:
            assert len(r.members) == 1 and len(r.members[0][2]) == 1 << 20
            assert c.leave_group(g, r.member_id) == 0
        return r.error_code


def _static_replace(bootstrap):
    """JoinGroup v5: a static member rejoining with no member id and the same metadata gets
    a new id at once, in the same generation; the old id is fenced."""
    g = unique_group("static-raw")
    meta = b"\x00\x01subscription"
    with kafka_wire.Conn.to(bootstrap, timeout=20) as c:
        first = c.join_group(g, protocols=[("range", meta)], group_instance_id="inst",
                             version=5)
        assert first.error_code == 0, first
        assert first.members == [(first.member_id, "inst", meta)], first
        err, _ = c.sync_group(g, first.generation_id, first.member_id,
                              [(first.member_id, b"assignment")], group_instance_id="inst",
                              version=3)
        assert err == 0
        again = c.join_group(g, protocols=[("range", meta)], group_instance_id="inst",
                             version=5)
        assert again.error_code == 0, again
        assert again.member_id != first.member_id, again
        assert again.generation_id == first.generation_id, (first, again)
        err, assignment = c.sync_group(g, again.generation_id, again.member_id,
                                       group_instance_id="inst", version=3)
        assert (err, assignment) == (0, b"assignment")
        assert c.heartbeat(g, first.generation_id, first.member_id, group_instance_id="inst",
                           version=3) == kafka_wire.ERR_FENCED_INSTANCE_ID
        assert c.heartbeat(g, again.generation_id, again.member_id, group_instance_id="inst",
                           version=3) == 0


@pytest.mark.timeout(60)
def test_coordinator_rejects_bad_requests(bootstrap):
    """Raw JoinGroup / Heartbeat with bad input get Kafka's error codes, 1 MB of protocol
    metadata is survived, MEMBER_ID_REQUIRED comes only from v4 on, a static member is
    replaced without a new generation; the group is usable by a real consumer afterwards.
    The scenarios use separate groups and run concurrently (each join phase takes 3 s)."""
    topic, group = unique_topic("bad"), unique_group("bad")
    fill(bootstrap, topic, 3, 5)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_bad_input_main, bootstrap, group),
                   pool.submit(_bad_input_v3, bootstrap),
                   pool.submit(_bad_input_big, bootstrap),
                   pool.submit(_static_replace, bootstrap)]
        results = [f.result(timeout=45) for f in futures]
    print(f"1 MB protocol metadata: JoinGroup error {results[2]}")
    with kafka_wire.Conn.to(bootstrap) as c:
        assert c.api_versions()  # still serving
    cons = group_consumer(bootstrap, group)
    cons.subscribe([topic])
    seen = consume_until(cons, lambda s: len(s) >= 15, 30, "a real consumer after bad input")
    cons.commit(asynchronous=False)
    cons.close()
    assert sorted(seen) == sorted((p, o) for p in range(3) for o in range(5))


@pytest.mark.timeout(30)
def test_standalone_commit(bootstrap):
    """assign() plus commit with a group.id: OffsetCommit with generation -1 and no member id
    is accepted, and OffsetFetch returns it."""
    topic, group = unique_topic("solo"), unique_group("solo")
    fill(bootstrap, topic, 3, 5)
    c = group_consumer(bootstrap, group)
    c.assign([ck.TopicPartition(topic, p, 0) for p in range(3)])
    seen = consume_until(c, lambda s: len(s) >= 15, 20, "assigned partitions")
    assert sorted(seen) == sorted((p, o) for p in range(3) for o in range(5))
    done = c.commit(offsets=[ck.TopicPartition(topic, p, 3 + p) for p in range(3)],
                    asynchronous=False)
    assert all(tp.error is None for tp in done), done
    got = c.committed([ck.TopicPartition(topic, p) for p in range(3)], timeout=10)
    assert {tp.partition: tp.offset for tp in got} == {0: 3, 1: 4, 2: 5}
    c.close()
    with kafka_wire.Conn.to(bootstrap) as conn:
        fetched = conn.offset_fetch(group, topic, [0, 1, 2])
    assert {p: (v[0], v[2]) for p, v in fetched.items()} == {0: (3, 0), 1: (4, 0), 2: (5, 0)}


@pytest.mark.timeout(30)
def test_consumer_offsets_is_internal_and_read_only(bootstrap):
    """__consumer_offsets is listed, flagged internal (Metadata v1+), and refuses Produce."""
    listing = kcat(bootstrap, "-L").decode()
    assert 'topic "__consumer_offsets"' in listing, listing
    with kafka_wire.Conn.to(bootstrap) as c:
        md = c.metadata(None, version=1, full=True)
        assert "__consumer_offsets" in md["topics"]
        assert md["internal"] == {"__consumer_offsets"}, md["internal"]
        err, _ = c.produce("__consumer_offsets", 0, kafka_wire.record_batch([b"evil"]))
        # Kafka: InvalidTopicException for a client append to an internal topic.
        assert err == 17, f"Produce to __consumer_offsets: error {err}, expected 17"
    p = producer(bootstrap, message_timeout_ms=5000)
    reports = produce_all(p, [("__consumer_offsets", 0, None, b"evil", None, None)])
    assert reports[0][0] is not None, "confluent producer wrote to __consumer_offsets"


def _list_groups(conn, version, states=None):
    """Raw ListGroups: {group_id: (protocol_type, state or None)}. v3+ are flexible."""
    def compact_str(r):
        n = r.uvarint() - 1
        return r.raw(n).decode()

    if version < 3:
        r = kafka_wire.Reader(conn.request(16, version, b""))
        if version >= 1:
            r.i32()
        assert r.i16() == 0
        return {g: (t, None) for g, t in r.array(lambda x: (x.string(), x.string()))}
    body = b""
    if version >= 4:
        names = states or []
        body += kafka_wire.uvarint(len(names) + 1)
        body += b"".join(kafka_wire.compact_string(s) for s in names)
    body += b"\x00"  # tags
    r = kafka_wire.Reader(conn.request(16, version, body, flexible_header=True))
    assert r.i8() == 0  # response header tags
    r.i32()  # throttle_time_ms
    assert r.i16() == 0
    out = {}
    for _ in range(r.uvarint() - 1):
        gid, ptype = compact_str(r), compact_str(r)
        state = compact_str(r) if version >= 4 else None
        assert r.i8() == 0  # group tags
        out[gid] = (ptype, state)
    assert r.i8() == 0 and r.remaining() == 0
    return out


@pytest.mark.timeout(60)
def test_list_groups_v4_states_filter(make_broker):
    """ListGroups v3-v4 (what librdkafka's Admin API sends once advertised): the group's state
    is listed from v4, and a states filter, matched without regard to case, keeps only those."""
    b = make_broker("--group-initial-rebalance-delay-ms", "0")
    topic, group = unique_topic("lg"), unique_group("lg")
    fill(b.bootstrap, topic, 1, 1)
    c = group_consumer(b.bootstrap, group)
    c.subscribe([topic])
    try:
        wait_for(lambda: c.poll(0.2) is not None and describe(b.bootstrap, group)[0] == "Stable",
                 30, "the group is Stable")
        with kafka_wire.Conn.to(b.bootstrap) as conn:
            assert conn.api_versions()[16] == (0, 4)
            assert _list_groups(conn, 2)[group] == ("consumer", None)
            assert _list_groups(conn, 3)[group] == ("consumer", None)
            assert _list_groups(conn, 4)[group] == ("consumer", "Stable")
            assert _list_groups(conn, 4, ["stable"])[group] == ("consumer", "Stable")
            assert group in _list_groups(conn, 4, ["Empty", "Stable"])
            assert group not in _list_groups(conn, 4, ["Empty"])
            assert _list_groups(conn, 4, ["NoSuchState"]) == {}
    finally:
        c.close()
    with kafka_wire.Conn.to(b.bootstrap) as conn:
        wait_for(lambda: group in _list_groups(conn, 4, ["Empty"]), 30, "the group is Empty")
