"""The stream library's Kafka runtime, on the broker: examples/order_totals run as a consumer-
group application (application.h) against real topics.

- Orders keyed by order id (so one user's orders are spread over every partition) are
  repartitioned by the pipeline's key_by through "order-totals-by-user-repartition": the
  outputs, de-duplicated by window key (the last result per user and window wins), equal a
  reference computed here from the orders produced, and each repartitioned record sits in the
  partition a real client's murmur2 partitioner picks for its key.
- Killed with SIGKILL mid-stream and restarted (with records of the repartition topic sent
  again, as a restarted upstream task does), the outputs still equal the reference; the
  restarted instance restored state from its changelog topic and dropped the copies.
- Two instances split the input partitions (orders without a key); when one is SIGKILLed the
  other takes its tasks over and the results still equal the reference.
- A repartition topic left with another partition count stops the application at start.
- Totals per region (--by-region): orders joined with the table "users", then grouped again by
  region (two repartitions). The users topic is long and the users the orders name come last
  in it; each task reads its table partition to the end before its first order, so no order
  misses its user.

- Orders already keyed by user with Kafka's default partitioner (murmur2), run with
  --orders-keyed-by-user (key_by_record_key): the results equal the reference and no
  repartition topic exists; orders partitioned otherwise (librdkafka's default, CRC32) stop
  the application with an error naming the misplaced record.
- The same keyed orders joined with "users" in the task that reads them (no repartition
  before the join), the users produced after the orders: every order still meets its user,
  because each task reads its table partition to the end first (without that the orders,
  earlier in their partitions than the users, are joined before the users are loaded).

The orders have event times up to 5 s out of order: under the pipeline's 10 s bound, so no
order is late and the reference is a plain sum per 5-minute window. A last order per
partition, far in event time, moves every partition's watermark past all windows.
"""

import json
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import confluent_kafka as ck
import confluent_kafka.admin as cka
import pytest

from conftest import built_binary
from helpers import consume_range, produce_all, producer, wait_for

PARTITIONS = 4
REPARTITION = "order-totals-by-user-repartition"
WINDOW_MS = 5 * 60 * 1000
T0 = 1_700_000_100_000 // WINDOW_MS * WINDOW_MS  # a window boundary


def app_binary():
    return built_binary("ORDER_TOTALS_BIN", "examples/order_totals/order_totals")


class App:
    """One order_totals instance as a child process, logging to a file."""

    def __init__(self, bootstrap, log_dir, name, app_id, *extra):
        self.log_path = Path(log_dir) / f"{name}.log"
        self.cmd = [app_binary(), "--bootstrap", bootstrap, "--application-id", app_id,
                    "--commit-interval-ms", "300", "--session-timeout-ms", "6000", *extra]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def tasks(self):
        """The task set of the last "running tasks" line, or None before any."""
        lines = re.findall(r"running tasks (\S+)", self.log())
        if not lines:
            return None
        return set() if lines[-1] == "none" else {int(t) for t in lines[-1].split(",")}

    def restored(self):
        return sum(int(n) for n in re.findall(r"restored (\d+) state records", self.log()))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(30)
            assert rc == 0, f"order_totals exited {rc}:\n{self.log()[-3000:]}"


@pytest.fixture
def apps(tmp_path):
    started = []

    def start(bootstrap, name, *extra, app_id="order-totals"):
        a = App(bootstrap, tmp_path, name, app_id, *extra)
        started.append(a)
        return a

    yield start
    for a in started:
        if a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait(10)


def create_topics(bootstrap):
    admin = cka.AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([cka.NewTopic(t, PARTITIONS, 1) for t in
                                   ("orders", "order-totals", "orders-late", "orders-dlq")])
    for f in futures.values():
        f.result(30)


def create_region_topics(bootstrap):
    """create_topics, plus the compacted table "users" and the output "region-totals"."""
    create_topics(bootstrap)
    admin = cka.AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [cka.NewTopic("users", PARTITIONS, 1, config={"cleanup.policy": "compact"}),
         cka.NewTopic("region-totals", PARTITIONS, 1)])
    for f in futures.values():
        f.result(30)


def make_orders(seed, n=6000, users=60):
    rnd = random.Random(seed)
    orders = []
    for i in range(n):
        user = f"u{rnd.randrange(users)}"
        ts = T0 + i * 300 + rnd.randint(0, 5000)  # 30 min of event time, <= 5 s disorder
        orders.append((user, ts, {"order_id": f"o{i}", "user_id": user,
                                  "amount": rnd.randint(1, 10_000)}))
    return orders


def reference(orders):
    totals = {}
    for user, ts, o in orders:
        key = (user, ts // WINDOW_MS * WINDOW_MS)
        totals[key] = totals.get(key, 0) + o["amount"]
    return totals


def produce_orders(bootstrap, orders, key="order"):
    """key: "order" (the order id: a user's orders spread over all partitions), "user" (what
    key_by needed before repartitioning) or None (no key: the client spreads them)."""
    p = producer(bootstrap)
    keys = {"order": lambda u, o: o["order_id"].encode(), "user": lambda u, o: u.encode(),
            None: lambda u, o: None}[key]
    msgs = [("orders", None, keys(user, o), json.dumps(o).encode(), None, ts)
            for user, ts, o in orders]
    for err, _, _ in produce_all(p, msgs):
        assert err is None, err


def produce_flush_marks(bootstrap, end_ts):
    """One order per partition an hour past the last: every window before it closes."""
    p = producer(bootstrap)
    msgs = [("orders", part, f"flush-{part}".encode(),
             json.dumps({"order_id": f"flush-{part}", "user_id": f"flush-{part}",
                         "amount": 0}).encode(), None, end_ts + 3_600_000)
            for part in range(PARTITIONS)]
    for err, _, _ in produce_all(p, msgs):
        assert err is None, err


def results(bootstrap, topic="order-totals"):
    """The totals topic de-duplicated by window key: the last result per (key, start)."""
    out = {}
    count = 0
    for msgs in consume_range(bootstrap, topic, range(PARTITIONS)).values():
        for m in msgs:  # in offset order; one user's results share a partition
            r = json.loads(m.value())
            assert m.key().decode() == r["key"]
            out[(r["key"], r["start"])] = r["value"]
            count += 1
    return out, count


def wait_for_results(bootstrap, expected, timeout=90, topic="order-totals"):
    last = {}

    def done():
        nonlocal last
        last, _ = results(bootstrap, topic)
        return last == expected

    try:
        wait_for(done, timeout, "the results to equal the reference", interval=1.0)
    except AssertionError:
        missing = {k: v for k, v in expected.items() if last.get(k) != v}
        extra = {k: v for k, v in last.items() if k not in expected}
        raise AssertionError(f"{len(missing)} windows differ or are missing "
                             f"(e.g. {list(missing.items())[:3]}, got "
                             f"{[last.get(k) for k in list(missing)[:3]]}); "
                             f"{len(extra)} unexpected (e.g. {list(extra.items())[:3]})")
    return last


def state_key(user, start):
    """The changelog key of a window's accumulator: be32(len) namespace, then the window
    step's key: be32(len) user, start and end as big-endian with the sign bit flipped."""
    ns = b"totals-5m"
    k = len(user).to_bytes(4, "big") + user.encode()
    for t in (start, start + WINDOW_MS):
        k += (t ^ (1 << 63)).to_bytes(8, "big")
    return len(ns).to_bytes(4, "big") + ns + k


def inject_cut_short_checkpoint(bootstrap):
    """What a checkpoint cut short by a crash leaves: state changes with no marker after them.
    A restore that applied them would emit 999999999 for (u0, T0) from every task."""
    p = producer(bootstrap)
    msgs = [("order-totals-changelog", part, state_key("u0", T0), b"999999999", None, None)
            for part in range(PARTITIONS)]
    for err, _, _ in produce_all(p, msgs):
        assert err is None, err


def repartition_records(bootstrap):
    """Per partition of the repartition topic, its records in offset order."""
    return consume_range(bootstrap, REPARTITION, range(PARTITIONS))


def send_again(bootstrap, per_partition, last=40):
    """What a restarted upstream task does: the last data records of each partition of the
    repartition topic produced again, headers (task, sequence number) and all."""
    p = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sent = 0
    for part, msgs in per_partition.items():
        data = [m for m in msgs if m.key() is not None]
        for m in data[-last:]:
            p.produce(REPARTITION, key=m.key(), value=m.value(), partition=part,
                      headers=m.headers(), timestamp=m.timestamp()[1])
            sent += 1
    assert p.flush(30) == 0
    return sent


def committed(bootstrap, group):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = c.committed([ck.TopicPartition("orders", p) for p in range(PARTITIONS)],
                            timeout=10)
        return sum(max(tp.offset, 0) for tp in parts)
    finally:
        c.close()


def test_orders_not_keyed_by_user_are_repartitioned(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    orders = make_orders(seed=3)
    expected = reference(orders)
    produce_orders(bootstrap, orders, key="order")
    produce_flush_marks(bootstrap, orders[-1][1])

    a = apps(bootstrap, "only", "--keep-repartition-records")
    got = wait_for_results(bootstrap, expected)
    assert got == expected
    a.stop()

    md = cka.AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    assert len(md.topics[REPARTITION].partitions) == PARTITIONS
    # Every data record is where librdkafka's murmur2 partitioner (Kafka's default) puts its
    # key: ask a real client by producing each key to a fresh topic of the same partition count.
    per_partition = repartition_records(bootstrap)
    admin = cka.AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([cka.NewTopic("murmur2-check", PARTITIONS, 1)]).values():
        f.result(30)
    p = ck.Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    landed = {}

    def on_delivery(err, msg):
        assert err is None, err
        landed[msg.key()] = msg.partition()

    ours = {}
    controls = 0
    for part, msgs in per_partition.items():
        for m in msgs:
            headers = dict(m.headers() or [])
            if m.key() is None:
                assert "spate.wm" in headers and m.value() is None
                controls += 1
                continue
            assert "spate.seq" in headers
            assert ours.setdefault(m.key(), part) == part, f"key {m.key()} in two partitions"
    for k in ours:
        p.produce("murmur2-check", key=k, value=b"", on_delivery=on_delivery)
    assert p.flush(30) == 0
    assert len(ours) == 60 + PARTITIONS  # the users and the flush marks
    assert ours == landed
    assert controls > 0


def test_repartition_topic_with_another_partition_count_is_refused(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    admin = cka.AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([cka.NewTopic(REPARTITION, PARTITIONS - 1, 1)]).values():
        f.result(30)
    a = apps(bootstrap, "refused")
    rc = a.proc.wait(60)
    assert rc == 1, a.log()[-2000:]
    assert f"repartition topic '{REPARTITION}' has {PARTITIONS - 1} partitions" in a.log(), \
        a.log()[-2000:]


def test_killed_mid_stream_restarts_to_the_reference(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    orders = make_orders(seed=1)
    expected = reference(orders)
    half = len(orders) // 2
    produce_orders(bootstrap, orders[:half], key="order")

    a = apps(bootstrap, "first", "--keep-repartition-records")
    # Mid-stream: some input committed (so some state is in the changelog), not all of it.
    wait_for(lambda: committed(bootstrap, "order-totals") >= half // 2, 60,
             "the application to commit part of the input", interval=0.2)
    a.kill()
    done = committed(bootstrap, "order-totals")
    assert done < len(orders)
    inject_cut_short_checkpoint(bootstrap)
    # Counted twice, these would make the totals of their windows wrong.
    assert send_again(bootstrap, repartition_records(bootstrap)) > 0
    produce_orders(bootstrap, orders[half:], key="order")
    produce_flush_marks(bootstrap, orders[-1][1])

    b = apps(bootstrap, "second", "--keep-repartition-records")
    got = wait_for_results(bootstrap, expected)
    assert got == expected
    assert b.restored() > 0, "the restarted instance restored no state from its changelog"
    assert "rolled back" in b.log(), "the injected unfinished checkpoint was not rolled back"
    assert re.search(r"dropped \d+ repartitioned records already applied", b.log()), b.log()[-3000:]
    b.stop()
    # The changelog topic exists, compacted, with a partition per task.
    md = cka.AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    changelog = "order-totals-changelog"
    assert changelog in md.topics, sorted(md.topics)
    assert len(md.topics[changelog].partitions) == PARTITIONS


def test_two_instances_split_partitions_and_take_over(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    orders = make_orders(seed=2)
    expected = reference(orders)
    third = len(orders) // 3
    produce_orders(bootstrap, orders[:third], key=None)

    a = apps(bootstrap, "a")
    b = apps(bootstrap, "b")

    def split():
        ta, tb = a.tasks(), b.tasks()
        return ta and tb and ta.isdisjoint(tb) and ta | tb == set(range(PARTITIONS))

    wait_for(split, 60, "two instances to share the four tasks", interval=0.2)
    wait_for(lambda: committed(bootstrap, "order-totals") >= third, 60,
             "the first third to be committed", interval=0.2)
    produce_orders(bootstrap, orders[third:2 * third], key=None)
    a_tasks = a.tasks()
    a.kill()
    produce_orders(bootstrap, orders[2 * third:], key=None)
    produce_flush_marks(bootstrap, orders[-1][1])

    wait_for(lambda: b.tasks() == set(range(PARTITIONS)), 60,
             "the survivor to take over every task", interval=0.2)
    got = wait_for_results(bootstrap, expected)
    assert got == expected
    assert b.restored() > 0, f"the survivor restored no state for tasks {a_tasks}"
    b.stop()
    # The tasks deleted the repartition records their checkpoints moved past.
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "purge-check"})
    try:
        lows = [c.get_watermark_offsets(ck.TopicPartition(REPARTITION, p), timeout=10)[0]
                for p in range(PARTITIONS)]
    finally:
        c.close()
    assert all(low > 0 for low in lows), lows


def test_orders_meet_the_whole_users_table_and_are_grouped_again_by_region(broker, apps):
    bootstrap = broker.bootstrap
    create_region_topics(bootstrap)
    orders = make_orders(seed=5)
    rnd = random.Random(6)
    regions = {f"u{i}": rnd.choice(["eu", "us", "apac", "latam"]) for i in range(60)}
    # The table partitioned as Java clients and the runtime's repartition topic are (murmur2),
    # not by librdkafka's default (CRC32): only then is it co-partitioned with "by-user".
    p = producer(bootstrap, partitioner="murmur2_random", linger_ms=20)
    filler = [("users", None, f"other-{i}".encode(), json.dumps({"region": "none"}).encode(),
               None, None) for i in range(40_000)]
    # A user first known with another region: the latest value is the one that counts.
    stale = [("users", None, u.encode(), json.dumps({"region": "stale"}).encode(), None, None)
             for u in regions]
    real = [("users", None, u.encode(), json.dumps({"region": r}).encode(), None, None)
            for u, r in regions.items()]
    for err, _, _ in produce_all(p, stale + filler + real):
        assert err is None, err
    produce_orders(bootstrap, orders, key="order")
    produce_flush_marks(bootstrap, orders[-1][1])
    expected = {}
    for user, ts, o in orders:
        key = (regions[user], ts // WINDOW_MS * WINDOW_MS)
        expected[key] = expected.get(key, 0) + o["amount"]

    a = apps(bootstrap, "regions", "--by-region", app_id="region-totals")
    got = wait_for_results(bootstrap, expected, topic="region-totals")
    assert got == expected
    read = sum(int(n) for n in re.findall(r"read (\d+) table records", a.log()))
    assert read == 40_000 + 2 * len(regions), a.log()[-3000:]
    a.stop()


def murmur2_partition(key, partitions):
    """Kafka's default partitioner (murmur2, sign bit cleared), to pick keys for partitions."""
    m = 0x5bd1e995
    h = (0x9747b28c ^ len(key)) & 0xffffffff
    whole = len(key) // 4 * 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(key[i:i + 4], "little") * m) & 0xffffffff
        k = ((k ^ (k >> 24)) * m) & 0xffffffff
        h = ((h * m) & 0xffffffff) ^ k
    tail = key[whole:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & 0xffffffff
    h = ((h ^ (h >> 13)) * m) & 0xffffffff
    h ^= h >> 15
    return (h & 0x7fffffff) % partitions


def produce_keyed_orders(bootstrap, orders, partitioner="murmur2_random"):
    """The orders keyed by user id, partitioned by `partitioner`, then one flush mark per
    partition keyed (and named) so that murmur2 puts it there."""
    p = producer(bootstrap, partitioner=partitioner)
    msgs = [("orders", None, u.encode(), json.dumps(o).encode(), None, ts) for u, ts, o in orders]
    for err, _, _ in produce_all(p, msgs):
        assert err is None, err
    marks = {}
    i = 0
    while len(marks) < PARTITIONS:
        key = f"flush-{i}"
        marks.setdefault(murmur2_partition(key.encode(), PARTITIONS), key)
        i += 1
    end_ts = max(ts for _, ts, _ in orders) + 3_600_000
    msgs = [("orders", None, k.encode(),
             json.dumps({"order_id": k, "user_id": k, "amount": 0}).encode(), None, end_ts)
            for k in marks.values()]
    m2 = producer(bootstrap, partitioner="murmur2_random")
    reports = produce_all(m2, msgs)
    # The real client agrees with the partitions picked above.
    assert sorted(part for err, part, _ in reports if err is None) == list(range(PARTITIONS))


def repartition_topics(bootstrap):
    md = cka.AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return sorted(t for t in md.topics if t.endswith("-repartition"))


def test_orders_keyed_by_user_are_keyed_in_place(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    orders = make_orders(seed=7)
    expected = reference(orders)
    produce_keyed_orders(bootstrap, orders)

    a = apps(bootstrap, "keyed", "--orders-keyed-by-user")
    got = wait_for_results(bootstrap, expected)
    assert got == expected
    a.stop()
    # A step that still repartitioned would have made "order-totals-by-user-repartition".
    assert repartition_topics(bootstrap) == []
    assert "repartition topic" not in a.log(), a.log()[-3000:]


def test_orders_not_partitioned_by_murmur2_stop_the_application(broker, apps):
    bootstrap = broker.bootstrap
    create_topics(bootstrap)
    orders = make_orders(seed=8, n=400)
    # librdkafka's default partitioner hashes with CRC32: some users land in another
    # partition than murmur2 picks, which the opt-out must not take on trust.
    produce_keyed_orders(bootstrap, orders, partitioner="consistent_random")
    a = apps(bootstrap, "misplaced", "--orders-keyed-by-user")
    rc = a.proc.wait(60)
    assert rc == 1, a.log()[-2000:]
    assert re.search(r"key_by_record_key step 'by-user': the record at orders\[\d\]@\d+ is in "
                     r"task \d but Kafka's default partitioner puts its key in partition \d of 4",
                     a.log()), a.log()[-2000:]
    # Stopped before any window closed: no result came out of a task holding a split key.
    assert results(bootstrap)[1] == 0


def test_keyed_orders_meet_users_produced_after_them(broker, apps):
    bootstrap = broker.bootstrap
    create_region_topics(bootstrap)
    orders = make_orders(seed=9)
    rnd = random.Random(10)
    regions = {f"u{i}": rnd.choice(["eu", "us", "apac", "latam"]) for i in range(60)}
    expected = {}
    for user, ts, o in orders:
        key = (regions[user], ts // WINDOW_MS * WINDOW_MS)
        expected[key] = expected.get(key, 0) + o["amount"]
    # Orders first, users after, behind ~5 MB of other users per partition: a consumer fetches
    # at most 1 MB of a partition at a time (librdkafka's max.partition.fetch.bytes), so a task
    # reading both topics as they come gets all its orders (~100 kB) several fetches before
    # their users, joins them with no user and drops them.
    produce_keyed_orders(bootstrap, orders)
    p = producer(bootstrap, partitioner="murmur2_random", linger_ms=20)
    pad = "x" * 2500
    filler = [("users", None, f"other-{i}".encode(),
               json.dumps({"region": "none", "pad": pad}).encode(), None, None)
              for i in range(8000)]
    real = [("users", None, u.encode(), json.dumps({"region": r}).encode(), None, None)
            for u, r in regions.items()]
    for err, _, _ in produce_all(p, filler + real):
        assert err is None, err

    a = apps(bootstrap, "keyed-regions", "--by-region", "--orders-keyed-by-user",
             app_id="region-totals")
    got = wait_for_results(bootstrap, expected, topic="region-totals")
    assert got == expected
    read = sum(int(n) for n in re.findall(r"read (\d+) table records", a.log()))
    assert read == len(filler) + len(real), a.log()[-3000:]
    a.stop()
    # Only the regrouping by region went through a topic; the join ran where the orders are.
    assert repartition_topics(bootstrap) == ["region-totals-by-region-repartition"]
