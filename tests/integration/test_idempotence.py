"""The idempotent producer (kafka-compat.md §11.1): InitProducerId, per-partition sequence
checks, duplicates answered with the original offset, gaps and fenced epochs refused, and the
state kept across clean and SIGKILL restarts. The last test runs librdkafka's idempotent
producer through a TCP proxy that keeps cutting its connections, and checks that every
message was written exactly once and in order."""

import collections
import random
import socket
import struct
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_wire import Conn, Reader, record_batch

ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
ERR_INVALID_PRODUCER_EPOCH = 47
ERR_INVALID_RECORD = 87
ERR_INVALID_REQUEST = 42


def batch(pid, epoch, seq, n=2):
    return record_batch([f"p{pid}-e{epoch}-s{seq + i}".encode() for i in range(n)],
                        producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def test_init_producer_id_hands_out_distinct_ids_and_refuses_transactions(make_broker):
    b = make_broker("--num-partitions", "1")
    with Conn.to(b.bootstrap) as c:
        assert 22 in c.api_versions(), "InitProducerId must be advertised"
        ids = set()
        for _ in range(5):
            err, pid, epoch = c.init_producer_id()
            assert err == 0 and epoch == 0 and pid >= 0
            ids.add(pid)
        assert len(ids) == 5
        err, _, _ = c.init_producer_id(transactional_id="txn-1")
        assert err == ERR_INVALID_REQUEST  # no transaction coordinator yet: a clear refusal
    b.restart()
    with Conn.to(b.bootstrap) as c:
        err, pid, _ = c.init_producer_id()
        assert err == 0 and pid not in ids, "an id was handed out twice across a restart"


def test_duplicates_gaps_and_epochs_on_the_wire(make_broker):
    b = make_broker("--num-partitions", "1")
    with Conn.to(b.bootstrap) as c:
        c.metadata(["idem"])
        err, pid, epoch = c.init_producer_id()
        assert err == 0
        assert c.produce("idem", 0, batch(pid, epoch, 0)) == (0, 0)
        assert c.produce("idem", 0, batch(pid, epoch, 2)) == (0, 2)
        # A retry of either of the last batches: success with the original offset.
        assert c.produce("idem", 0, batch(pid, epoch, 0)) == (0, 0)
        assert c.produce("idem", 0, batch(pid, epoch, 2)) == (0, 2)
        # A gap.
        err, _ = c.produce("idem", 0, batch(pid, epoch, 7))
        assert err == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        # A producer id without a sequence is malformed.
        err, _ = c.produce("idem", 0, batch(pid, epoch, -1))
        assert err == ERR_INVALID_RECORD
        # Producer id -1 is not idempotent whatever epoch and sequence say (kafkajs sends 0/0):
        # the same batch twice is stored twice.
        plain = record_batch([b"plain"], producer_id=-1, producer_epoch=0, base_sequence=0)
        assert c.produce("idem", 0, plain) == (0, 4)
        assert c.produce("idem", 0, plain) == (0, 5)
        # A new epoch restarts at 0 and fences the old one.
        err, _ = c.produce("idem", 0, batch(pid, epoch + 1, 3))
        assert err == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce("idem", 0, batch(pid, epoch + 1, 0)) == (0, 6)
        err, _ = c.produce("idem", 0, batch(pid, epoch, 4))
        assert err == ERR_INVALID_PRODUCER_EPOCH
        assert c.produce("idem", 0, batch(pid, epoch + 1, 2)) == (0, 8)
        part = c.fetch("idem", 0, 0)
        assert part.high_watermark == 10, "only accepted batches are stored"


def test_producer_state_survives_clean_and_sigkill_restarts(make_broker):
    # Small segments, so that snapshots are written at rolls and replay covers the rest.
    b = make_broker("--num-partitions", "1", "--segment-bytes", "4096")
    with Conn.to(b.bootstrap) as c:
        c.metadata(["idem"])
        _, pid, epoch = c.init_producer_id()
        seq = 0
        for i in range(60):
            assert c.produce("idem", 0, batch(pid, epoch, seq)) == (0, seq)
            seq += 2
    b.restart(keep_port=True)
    with Conn.to(b.bootstrap) as c:
        assert c.produce("idem", 0, batch(pid, epoch, seq - 2)) == (0, seq - 2)
        err, _ = c.produce("idem", 0, batch(pid, epoch, seq + 4))
        assert err == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        for i in range(5):
            assert c.produce("idem", 0, batch(pid, epoch, seq)) == (0, seq)
            seq += 2
    b.kill()
    b.start()
    with Conn.to(b.bootstrap) as c:
        for back in (2, 4, 6):
            assert c.produce("idem", 0, batch(pid, epoch, seq - back)) == (0, seq - back)
        err, _ = c.produce("idem", 0, batch(pid, epoch, seq + 2))
        assert err == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce("idem", 0, batch(pid, epoch, seq)) == (0, seq)
        assert c.fetch("idem", 0, 0).high_watermark == seq + 2


class CuttingProxy:
    """A TCP proxy on loopback that forwards to `upstream` and, every 50 to 300
    milliseconds, cuts one of its live connections (both sides, without warning): requests in
    flight are lost either before the broker reads them or after it has answered."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.upstream = None
        self.pairs = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.cutting = False
        # (topic, partition, producer id, epoch, base sequence) -> times a Produce carried it
        self.sent = collections.Counter()
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True),
                        threading.Thread(target=self._cut, daemon=True)]

    def start(self, upstream):
        self.upstream = upstream
        for t in self.threads:
            t.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            pair = (client, server)
            with self.lock:
                self.pairs.append(pair)
            for a, b, watch in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(a, b, pair, watch), daemon=True).start()

    def _pump(self, src, dst, pair, watch):
        pending = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if watch:
                    pending = self._note_requests(pending + data)
        except OSError:
            pass
        self._close(pair)

    def _note_requests(self, buf):
        """Records the idempotent batches of each complete Produce request in `buf`; returns
        the incomplete rest."""
        while len(buf) >= 4:
            size = struct.unpack(">i", buf[:4])[0]
            if len(buf) < 4 + size:
                break
            frame, buf = buf[4:4 + size], buf[4 + size:]
            r = Reader(frame)
            if r.i16() != 0:  # not Produce
                continue
            r.i16()  # version (3-7: same layout up to the records)
            r.i32()  # correlation id
            r.string()  # client id
            r.string()  # transactional id
            r.i16()  # acks
            r.i32()  # timeout
            for _ in range(r.i32()):
                topic = r.string()
                for _ in range(r.i32()):
                    part = r.i32()
                    records = r.bytes() or b""
                    pos = 0
                    while pos + 61 <= len(records):
                        length = struct.unpack(">i", records[pos + 8:pos + 12])[0]
                        pid, epoch, seq = struct.unpack(">qhi", records[pos + 43:pos + 57])
                        with self.lock:
                            self.sent[(topic, part, pid, epoch, seq)] += 1
                        pos += 12 + length
        return buf

    def retried_batches(self):
        with self.lock:
            return sum(1 for n in self.sent.values() if n > 1)

    def _close(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _cut(self):
        while not self.stopped.wait(self.rng.uniform(0.05, 0.3)):
            if not self.cutting:
                continue
            with self.lock:
                victim = self.rng.choice(self.pairs) if self.pairs else None
            if victim:
                self._close(victim)
                self.cuts += 1

    def stop(self):
        self.stopped.set()
        self.listener.close()
        with self.lock:
            pairs = list(self.pairs)
        for p in pairs:
            self._close(p)


def read_all(bootstrap, topic, partitions):
    """Every message of the topic up to each partition's end: {partition: [int value]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                  "enable.auto.commit": False})
    out = {}
    try:
        want = 0
        for part in range(partitions):
            _, high = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
            want += high
        c.assign([TopicPartition(topic, part, 0) for part in range(partitions)])
        got = 0
        stop_at = time.monotonic() + 60
        while got < want and time.monotonic() < stop_at:
            for m in c.consume(1000, timeout=1):
                assert not m.error(), m.error()
                out.setdefault(m.partition(), []).append(int(m.value()))
                got += 1
        assert got == want, f"read {got} of {want} stored messages"
    finally:
        c.close()
    return out


def test_idempotent_producer_writes_exactly_once_through_cut_connections(make_broker):
    proxy = CuttingProxy(seed=4)
    # Clients learn the proxy's address from Metadata, so every connection goes through it.
    b = make_broker("--num-partitions", "3", "--advertised-port", str(proxy.port))
    proxy.start(("127.0.0.1", b.port))
    failures = []
    fatal = []

    def on_error(err):
        if err.fatal():
            fatal.append(err)

    def on_delivery(err, msg):
        if err is not None:
            failures.append(err)

    p = Producer({"bootstrap.servers": f"127.0.0.1:{proxy.port}", "enable.idempotence": True,
                  "linger.ms": 2, "batch.num.messages": 50, "message.timeout.ms": 120000,
                  "error_cb": on_error,
                  "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100})
    proxy.cutting = True
    n = 0
    start = time.monotonic()
    per_partition = {}
    try:
        # At least 6 s of cuts, and on until a cut has made the producer resend a batch (a
        # fast broker may have answered everything in flight at a cut): at most 60 s.
        while time.monotonic() < start + 6 or (proxy.retried_batches() == 0 and
                                               time.monotonic() < start + 60):
            for _ in range(50):
                try:
                    p.produce("exactly-once", key=str(n % 7).encode(), value=str(n).encode(),
                              on_delivery=on_delivery)
                    n += 1
                except BufferError:  # the cuts slowed delivery down: let the queue drain
                    p.poll(0.1)
            p.poll(0)
            time.sleep(0.01)  # about 5,000 messages/s: enough in flight at every cut
        proxy.cutting = False
        left = p.flush(120)
        assert left == 0, f"{left} messages still undelivered"
        assert not fatal, f"fatal producer error: {fatal[0]}"
        assert not failures, f"{len(failures)} delivery failures, first {failures[0]}"
        assert proxy.cuts >= 10, f"only {proxy.cuts} connections cut"
        # The proxy saw batches sent more than once: retries after cuts, some of which the
        # broker had already stored. The log below must still hold each message once.
        assert proxy.retried_batches() > 0, "the cuts never made the producer resend a batch"
        # Read everything back (Metadata points at the proxy, which no longer cuts), up to
        # each partition's end.
        per_partition = read_all(b.bootstrap, "exactly-once", 3)
    finally:
        proxy.stop()
    # Plain comparisons on counts: pytest's diff of two long lists would take minutes.
    counts = collections.Counter(v for vs in per_partition.values() for v in vs)
    dupes = sorted(v for v, k in counts.items() if k > 1)
    missing = sorted(set(range(n)) - set(counts))
    assert not dupes, f"{len(dupes)} messages stored more than once, e.g. {dupes[:10]}"
    assert not missing, f"{len(missing)} of {n} messages missing, e.g. {missing[:10]}"
    assert len(counts) == n
    for part, vs in per_partition.items():
        inversions = [i for i in range(1, len(vs)) if vs[i] < vs[i - 1]]
        assert not inversions, f"partition {part} out of order at {inversions[:5]}"


def test_idempotent_producer_exactly_once_across_broker_sigkill(make_broker):
    """The broker is SIGKILLed twice while an idempotent producer writes; it comes back on the
    same port with its producer state rebuilt from snapshot + log, and the producer's retries
    of batches that were already stored are recognised as duplicates. Under the interval
    flush policy acks=all waits up to flush.ms for the sync, so at each kill there are
    batches in the log (the page cache survives SIGKILL) whose acknowledgement was lost:
    exactly the retries that must not be stored twice."""
    # A proxy that never cuts, only watches: it shows that the producer did re-send batches.
    proxy = CuttingProxy(seed=1)
    b = make_broker("--num-partitions", "2", "--segment-bytes", "65536",
                    "--flush-policy", "interval", "--flush-ms", "400",
                    "--advertised-port", str(proxy.port))
    proxy.start(("127.0.0.1", b.port))
    failures = []
    fatal = []
    p = Producer({"bootstrap.servers": f"127.0.0.1:{proxy.port}", "enable.idempotence": True,
                  "linger.ms": 2, "message.timeout.ms": 120000,
                  "error_cb": lambda e: fatal.append(e) if e.fatal() else None,
                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200})

    def on_delivery(err, msg):
        if err is not None:
            failures.append(err)

    n = 0

    def produce_for(seconds):
        nonlocal n
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(20):
                try:
                    p.produce("survivor", key=str(n % 5).encode(), value=str(n).encode(),
                              on_delivery=on_delivery)
                    n += 1
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
            time.sleep(0.005)

    try:
        produce_for(1.5)
        for _ in range(2):
            b.kill()
            produce_for(0.3)  # queued while the broker is down
            b.fixed_port = b.port
            b.start()
            produce_for(1.5)
        assert p.flush(120) == 0
        assert not fatal, f"fatal producer error: {fatal[0]}"
        assert not failures, f"{len(failures)} delivery failures, first {failures[0]}"
        assert proxy.retried_batches() > 0, "no batch was re-sent after the kills"
        counts = collections.Counter(v for vs in read_all(b.bootstrap, "survivor", 2).values()
                                     for v in vs)
    finally:
        proxy.stop()
    dupes = sorted(v for v, k in counts.items() if k > 1)
    missing = sorted(set(range(n)) - set(counts))
    assert not dupes, f"{len(dupes)} messages stored more than once, e.g. {dupes[:10]}"
    assert not missing, f"{len(missing)} of {n} messages missing, e.g. {missing[:10]}"
