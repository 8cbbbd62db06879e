"""`spate broker --config FILE`: settings from a TOML file's [broker] section, flags winning."""
import subprocess

from confluent_kafka.admin import AdminClient

import conftest


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
