"""One confluent-kafka group member, run as its own process by test_groups.py so that it can be
SIGKILLed. Not a test module.

    python3 group_member.py BOOTSTRAP GROUP TOPIC OUT_FILE [JSON_CONF]

Subscribes to TOPIC in GROUP and writes one line per event to OUT_FILE, flushed at once:

    A 0,3          partitions assigned (incremental for cooperative protocols)
    R 0,3          partitions revoked / lost
    M p o          message (partition p, offset o) consumed and processed
    C p o          commit of offset o (the next one to read) for partition p acknowledged
    F p o error    synchronous commit failed
    E error        consumer error

Each message is processed (its M line written) before its offset is committed synchronously,
so a member killed between the two leaves at most the uncommitted tail for others to re-read.
SIGTERM makes it close cleanly (LeaveGroup); it also stops by itself after 120 s.
"""

import json
import os
import signal
import sys
import time

import confluent_kafka as ck


def main():
    bootstrap, group, topic, out_path = sys.argv[1:5]
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    out = open(out_path, "a", buffering=1)

    def emit(line):
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())  # a SIGKILL right after must not lose what was printed

    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500, "topic.metadata.refresh.interval.ms": 2000}
    conf.update(extra)
    c = ck.Consumer(conf)

    def on_assign(consumer, parts):
        emit("A " + ",".join(str(p.partition) for p in parts))

    def on_revoke(consumer, parts):
        emit("R " + ",".join(str(p.partition) for p in parts))

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    deadline = time.monotonic() + 120
    while not stop and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() != ck.KafkaError._PARTITION_EOF:
                emit(f"E {m.error()}")
            continue
        emit(f"M {m.partition()} {m.offset()}")
        try:
            done = c.commit(message=m, asynchronous=False)
            for tp in done:
                emit(f"C {tp.partition} {tp.offset}")
        except ck.KafkaException as e:
            emit(f"F {m.partition()} {m.offset() + 1} {e.args[0]}")
    c.close()
    emit("closed")


if __name__ == "__main__":
    main()
