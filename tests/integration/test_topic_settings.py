"""Per-topic durability and roll settings, and the auto-creation switch, as clients see them:
`flush.policy` / `flush.ms` set by CreateTopics and AlterConfigs decide when acks=all is
answered; `segment.ms` rolls a segment by age; `--auto-create-topics false` creates nothing."""
import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from helpers import (ck_topic_configs, produce_all, producer, scrape_value, unique_topic,
                     wait_for)

SYNCS = "spate_storage_fdatasyncs_total"
ROLLED = "spate_storage_segments_rolled_total"
UNKNOWN_TOPIC = 3  # UNKNOWN_TOPIC_OR_PARTITION


def create(admin, topic, config):
    fut = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                        config=config)])
    fut[topic].result(30)


def acked_one_at_a_time(b, topic, n):
    """Produces n messages with acks=all, each waited for before the next, and returns how
    many fdatasyncs the broker had made between each send and its acknowledgement."""
    p = producer(b.bootstrap, acks="all", linger_ms=0)
    moved = []
    for i in range(n):
        before = scrape_value(b, SYNCS)
        reports = produce_all(p, [(topic, 0, None, b"v%d" % i, None, None)])
        assert reports[0][0] is None, reports
        moved.append(scrape_value(b, SYNCS) - before)
    return moved


def test_acks_all_waits_for_the_sync_the_topics_flush_policy_asks_for(make_broker):
    """On a broker whose default is `os` (acks=all answered from the page cache), a topic
    created with flush.policy=interval and a long flush.ms is acknowledged only after a
    sync, every time; AlterConfigs then turns another topic from os to always, and from then
    on its acknowledgements wait for a sync too. A broker that answered acks=all before the
    sync would acknowledge these within the interval, with no sync between."""
    b = make_broker("--flush-policy", "os")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    timed, plain = unique_topic("interval"), unique_topic("os")
    create(admin, timed, {"flush.policy": "interval", "flush.ms": "1500"})
    create(admin, plain, {})
    cfg = ck_topic_configs(admin, timed)
    assert (cfg["flush.policy"], cfg["flush.ms"]) == ("interval", "1500"), cfg
    assert ck_topic_configs(admin, plain)["flush.policy"] == "os"

    assert all(m >= 1 for m in acked_one_at_a_time(b, timed, 3))
    # The contrast: under `os` acks=all is answered from the page cache, with no sync at all
    # (nothing else here is dirty), so the counter is not moved by something else.
    assert acked_one_at_a_time(b, plain, 3) == [0, 0, 0]

    res = ConfigResource(ConfigResource.Type.TOPIC, plain, set_config={"flush.policy": "always"})
    admin.alter_configs([res])[res].result(30)
    assert ck_topic_configs(admin, plain)["flush.policy"] == "always"
    assert all(m >= 1 for m in acked_one_at_a_time(b, plain, 3))

    # The setting outlives a restart (the topic catalog), and still governs the acks.
    b.restart()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    assert ck_topic_configs(admin, plain)["flush.policy"] == "always"
    assert ck_topic_configs(admin, timed)["flush.ms"] == "1500"
    assert all(m >= 1 for m in acked_one_at_a_time(b, timed, 2))


def test_segment_ms_rolls_the_active_segment_by_age(make_broker):
    """segment.ms: the first append after the active segment is older than that goes to a new
    segment; the data of both reads back."""
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = unique_topic("aged")
    create(admin, topic, {"segment.ms": "300"})
    p = producer(b.bootstrap, acks="1", linger_ms=0)
    rolled = scrape_value(b, ROLLED)
    assert produce_all(p, [(topic, 0, None, b"first", None, None)])[0][0] is None
    folder = b.data_dir / f"{topic}-0"
    assert len(list(folder.glob("*.log"))) == 1
    time.sleep(0.6)
    assert produce_all(p, [(topic, 0, None, b"second", None, None)])[0][0] is None
    logs = sorted(folder.glob("*.log"))
    assert len(logs) == 2, logs
    assert logs[1].name == "%020d.log" % 1  # the new segment starts at the second offset
    assert scrape_value(b, ROLLED) >= rolled + 1
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "aged",
                     "auto.offset.reset": "earliest"})
    c.assign([ck.TopicPartition(topic, 0, 0)])
    got = []
    wait_for(lambda: got.extend(m.value() for m in c.consume(10, 0.5) if not m.error())
             or len(got) >= 2, 20, "both messages")
    c.close()
    assert got == [b"first", b"second"]


def test_auto_create_topics_off_creates_nothing(make_broker):
    """--auto-create-topics false: Metadata and Produce for an unknown topic get
    UNKNOWN_TOPIC_OR_PARTITION and leave no folder behind; CreateTopics still works."""
    b = make_broker("--auto-create-topics", "false")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    ghost = unique_topic("ghost")
    md = admin.list_topics(topic=ghost, timeout=10)
    assert md.topics[ghost].error is not None
    assert md.topics[ghost].error.code() == UNKNOWN_TOPIC, md.topics[ghost].error
    p = producer(b.bootstrap, acks="1", message_timeout_ms=3000)
    err = produce_all(p, [(ghost, None, None, b"lost?", None, None)])[0][0]
    assert err is not None and err.code() in (ck.KafkaError._UNKNOWN_TOPIC,
                                              ck.KafkaError.UNKNOWN_TOPIC_OR_PART,
                                              ck.KafkaError._MSG_TIMED_OUT), err
    assert not list(b.data_dir.glob(f"{ghost}-*"))
    assert ghost not in admin.list_topics(timeout=10).topics

    made = unique_topic("made")
    create(admin, made, {})
    assert produce_all(p, [(made, 0, None, b"kept", None, None)])[0][0] is None
