"""`spate broker --config FILE`: settings from a TOML file's [broker] section, flags winning."""
import os
import re
import subprocess
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

import conftest
from helpers import wait_for


def test_settings_come_from_the_config_file(make_broker, tmp_path):
    cfg = tmp_path / "spate.toml"
    cfg.write_text('[broker]\nnum-partitions = 5\nflush-policy = "interval"\n')
    b = make_broker("--config", str(cfg))
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    # Metadata auto-creates the topic with the file's partition count.
    md = admin.list_topics(topic="from-file", timeout=10)
    assert len(md.topics["from-file"].partitions) == 5


def test_command_line_flags_override_the_file(make_broker, tmp_path):
    cfg = tmp_path / "spate.toml"
    cfg.write_text("[broker]\nnum-partitions = 5\n")
    b = make_broker("--config", str(cfg), "--num-partitions", "2")
    md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(topic="flag", timeout=10)
    assert len(md.topics["flag"].partitions) == 2


def test_bad_config_file_is_a_clear_error(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[broker]\nflush-policy = "sometimes"\n')
    for args, expect in ((["--config", str(cfg)], "flush policy"),
                         (["--config", str(tmp_path / "missing.toml")], "not readable")):
        r = subprocess.run([conftest.spate_binary(), "broker", "--data-dir",
                            str(tmp_path / "d"), "--port", "0", *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r
        assert expect in r.stderr, r.stderr


def test_default_event_loops_leave_one_core_over(make_broker):
    """Without --cores (0 is the default) the broker runs one event loop per hardware thread
    but one, at least 1, and serves clients on them; --cores N runs N."""
    want = max(1, os.cpu_count() - 1)
    for args, cores in ((("--cores", "0"), want), (("--cores", "3"), 3)):
        b = make_broker("--num-partitions", "3", *args)
        m = re.search(r"ready: Kafka clients can connect to \S+ \((\d+) core\(s\)\)", b.log())
        assert m and int(m.group(1)) == cores, b.log()
        # The threads carry names (top -H, ps -L, perf): one per event loop, and the
        # storage's own. A thread names itself when it first runs, so wait for that.
        def names():
            return {open(f"/proc/{b.proc.pid}/task/{t}/comm").read().strip()
                    for t in os.listdir(f"/proc/{b.proc.pid}/task")}

        named = {f"spate-core-{i}" for i in range(cores)} | {"spate-flush", "spate-trim"}
        wait_for(lambda: named <= names(), 10, "the broker's threads to be named")
        assert {n for n in names() if n.startswith("spate-core-")} == \
            {f"spate-core-{i}" for i in range(cores)}, names()
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(30):
            p.produce("loops", key=str(i), value=f"v{i}", partition=i % 3)
        assert p.flush(10) == 0
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "loops",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["loops"])
        got = set()
        deadline = time.monotonic() + 20
        while len(got) < 30 and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got.add(msg.value().decode())
        c.close()
        assert got == {f"v{i}" for i in range(30)}
