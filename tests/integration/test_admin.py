"""Admin APIs through the real admin clients (confluent_kafka.admin on librdkafka 2.0.2, and
kafka-python's KafkaAdminClient): DeleteTopics, CreatePartitions, DescribeConfigs,
AlterConfigs. CreateTopics is in test_confluent.py / test_kafka_python.py, DeleteRecords in
test_retention.py. Each test is skipped until the broker advertises its API in ApiVersions;
once advertised, a client that refuses the advertised range (e.g. librdkafka needs
AlterConfigs and CreatePartitions v0, kafka-compat.md §3.1) is a failure, not a skip."""

import json
import resource

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType
from kafka.admin import NewPartitions as KpNewPartitions
from kafka.errors import UnknownTopicOrPartitionError

import kafka_wire
from helpers import (ck_topic_configs, consume_range, kcat, produce_all, producer, require_api,
                     unique_topic, wait_for, watermarks)

PARTITIONS = 3
SEGMENT_BYTES = 1048576
RETENTION_MS = 3600000

# Kafka error codes the admin APIs return.
INVALID_PARTITIONS = 37
INVALID_CONFIG = 40


def ck_admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def all_topics(bootstrap):
    """Every topic name, from a Metadata request for all topics (no auto-creation)."""
    md = json.loads(kcat(bootstrap, "-L", "-J"))
    return {t["topic"]: len(t["partitions"]) for t in md["topics"]}


def seed(bootstrap, topic, n=10):
    """Creates `topic` by auto-creation and writes n messages to each partition."""
    p = producer(bootstrap)
    reports = produce_all(p, [(topic, i % PARTITIONS, None, b"old-%d" % i, None, None)
                              for i in range(n * PARTITIONS)])
    assert all(err is None for err, _, _ in reports), reports


def ck_error_code(future):
    with pytest.raises(ck.KafkaException) as e:
        future.result(timeout=30)
    return e.value.args[0].code()


# --- DeleteTopics ---------------------------------------------------------------------------


def test_delete_topics_confluent(broker):
    bootstrap = broker.bootstrap
    require_api(bootstrap, kafka_wire.DELETE_TOPICS)
    topic, other = unique_topic("del"), unique_topic("keep")
    seed(bootstrap, topic)
    seed(bootstrap, other)
    admin = ck_admin(bootstrap)
    admin.delete_topics([topic], operation_timeout=10, request_timeout=15)[topic].result(30)
    wait_for(lambda: topic not in all_topics(bootstrap), 20, f"{topic} gone from Metadata")
    assert all_topics(bootstrap)[other] == PARTITIONS

    missing = admin.delete_topics([topic], request_timeout=15)[topic]
    assert ck_error_code(missing) == ck.KafkaError.UNKNOWN_TOPIC_OR_PART

    # The name can be used again, for a new, empty topic.
    seed(bootstrap, topic, n=1)
    got = consume_range(bootstrap, topic, range(PARTITIONS))
    assert [[m.offset() for m in got[p]] for p in range(PARTITIONS)] == [[0]] * PARTITIONS

    # The other topic kept its data, and nothing comes back after a restart.
    broker.restart()
    topics = all_topics(broker.bootstrap)
    assert topics[other] == PARTITIONS
    assert watermarks(broker.bootstrap, other, 0) == (0, 10)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 1)


def test_delete_topics_kafka_python(bootstrap):
    require_api(bootstrap, kafka_wire.DELETE_TOPICS)
    topic = unique_topic("kp-del")
    seed(bootstrap, topic)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topic], timeout_ms=10000)
        wait_for(lambda: topic not in all_topics(bootstrap), 20, f"{topic} gone from Metadata")
        with pytest.raises(UnknownTopicOrPartitionError):
            admin.delete_topics([topic], timeout_ms=10000)
    finally:
        admin.close()


# --- CreatePartitions -----------------------------------------------------------------------


def test_create_partitions_confluent(broker):
    bootstrap = broker.bootstrap
    require_api(bootstrap, kafka_wire.CREATE_PARTITIONS)
    topic = unique_topic("grow")
    seed(bootstrap, topic)
    admin = ck_admin(bootstrap)

    # validate_only changes nothing.
    admin.create_partitions([NewPartitions(topic, 5)], validate_only=True,
                            request_timeout=15)[topic].result(30)
    assert all_topics(bootstrap)[topic] == PARTITIONS

    admin.create_partitions([NewPartitions(topic, 5)], request_timeout=15)[topic].result(30)
    wait_for(lambda: all_topics(bootstrap)[topic] == 5, 20, "5 partitions in Metadata")
    p = producer(bootstrap)
    reports = produce_all(p, [(topic, part, None, b"new", None, None) for part in (3, 4)])
    assert [(err, off) for err, _, off in reports] == [(None, 0), (None, 0)]
    got = consume_range(bootstrap, topic, range(5))
    assert [len(got[part]) for part in range(5)] == [10, 10, 10, 1, 1]

    # Shrinking or keeping the count is INVALID_PARTITIONS.
    for count in (2, 5):
        fut = admin.create_partitions([NewPartitions(topic, count)], request_timeout=15)[topic]
        assert ck_error_code(fut) == INVALID_PARTITIONS, count
    missing = unique_topic("missing")
    fut = admin.create_partitions([NewPartitions(missing, 4)], request_timeout=15)[missing]
    assert ck_error_code(fut) == ck.KafkaError.UNKNOWN_TOPIC_OR_PART

    broker.restart()
    assert all_topics(broker.bootstrap)[topic] == 5
    assert watermarks(broker.bootstrap, topic, 4) == (0, 1)


def test_create_partitions_kafka_python(bootstrap):
    require_api(bootstrap, kafka_wire.CREATE_PARTITIONS)
    topic = unique_topic("kp-grow")
    seed(bootstrap, topic)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_partitions({topic: KpNewPartitions(total_count=4)}, timeout_ms=10000)
    finally:
        admin.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        wait_for(lambda: (c.topics() and c.partitions_for_topic(topic) == {0, 1, 2, 3}), 20,
                 "kafka-python to see 4 partitions")
    finally:
        c.close()


# --- DescribeConfigs / AlterConfigs ---------------------------------------------------------


@pytest.fixture
def config_broker(make_broker):
    return make_broker("--num-partitions", str(PARTITIONS), "--segment-bytes",
                       str(SEGMENT_BYTES), "--retention-ms", str(RETENTION_MS))


def test_describe_configs_confluent(config_broker):
    bootstrap = config_broker.bootstrap
    require_api(bootstrap, kafka_wire.DESCRIBE_CONFIGS)
    topic = unique_topic("cfg")
    seed(bootstrap, topic, n=1)
    admin = ck_admin(bootstrap)
    configs = ck_topic_configs(admin, topic)
    # The broker's defaults, as given on its command line, are the topic's effective values.
    assert configs.get("segment.bytes") == str(SEGMENT_BYTES), configs
    assert configs.get("retention.ms") == str(RETENTION_MS), configs
    assert configs.get("retention.bytes") == "-1", configs

    missing = ConfigResource(ConfigResource.Type.TOPIC, unique_topic("missing"))
    fut = admin.describe_configs([missing], request_timeout=15)[missing]
    assert ck_error_code(fut) == ck.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_configs_kafka_python(config_broker):
    bootstrap = config_broker.bootstrap
    require_api(bootstrap, kafka_wire.DESCRIBE_CONFIGS)
    topic = unique_topic("kp-cfg")
    seed(bootstrap, topic, n=1)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (resp,) = admin.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    (resource,) = resp.resources
    error_code, _, _, name, entries = resource[:5]
    assert (error_code, name) == (0, topic), resource
    values = {e[0]: e[1] for e in entries}
    assert values.get("segment.bytes") == str(SEGMENT_BYTES), values
    assert values.get("retention.ms") == str(RETENTION_MS), values


def test_alter_configs_confluent_takes_effect(make_broker):
    """AlterConfigs (librdkafka sends v0) sets retention.bytes on one topic; retention then
    moves that topic's log start, the value survives a restart, and unknown names fail."""
    broker = make_broker("--num-partitions", "1", "--segment-bytes", "4096",
                         "--retention-check-ms", "200")
    bootstrap = broker.bootstrap
    require_api(bootstrap, kafka_wire.ALTER_CONFIGS)
    require_api(bootstrap, kafka_wire.DESCRIBE_CONFIGS)
    topic, untouched = unique_topic("alter"), unique_topic("untouched")
    p = producer(bootstrap, linger_ms=0, batch_num_messages=5)
    for t in (topic, untouched):
        produce_all(p, [(t, 0, None, b"%05d" % i + b"a" * 195, None, None) for i in range(500)])
    admin = ck_admin(bootstrap)
    res = ConfigResource(ConfigResource.Type.TOPIC, topic,
                         set_config={"retention.bytes": "20000"})
    admin.alter_configs([res], request_timeout=15)[res].result(30)
    assert ck_topic_configs(admin, topic)["retention.bytes"] == "20000"
    assert ck_topic_configs(admin, untouched)["retention.bytes"] == "-1"

    wait_for(lambda: watermarks(bootstrap, topic, 0)[0] > 0, 20,
             "retention.bytes=20000 to move the log start")
    assert watermarks(bootstrap, untouched, 0) == (0, 500)

    bad = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"no.such.config": "1"})
    assert ck_error_code(admin.alter_configs([bad], request_timeout=15)[bad]) == INVALID_CONFIG

    broker.restart()
    admin = ck_admin(broker.bootstrap)
    assert ck_topic_configs(admin, topic)["retention.bytes"] == "20000"


def test_alter_configs_kafka_python(config_broker):
    bootstrap = config_broker.bootstrap
    require_api(bootstrap, kafka_wire.ALTER_CONFIGS)
    require_api(bootstrap, kafka_wire.DESCRIBE_CONFIGS)
    topic = unique_topic("kp-alter")
    seed(bootstrap, topic, n=1)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (resp,) = [admin.alter_configs([KpConfigResource(ConfigResourceType.TOPIC, topic,
                                                         configs={"retention.ms": "7200000"})])]
        assert [r[0] for r in resp.resources] == [0], resp
        (desc,) = admin.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    values = {e[0]: e[1] for e in desc.resources[0][4]}
    assert values.get("retention.ms") == "7200000", values
    # AlterConfigs replaces the topic's whole set: segment.bytes is still the broker default.
    assert values.get("segment.bytes") == str(SEGMENT_BYTES), values


# --- Many partitions under a low open-file limit ---------------------------------------------


def test_many_partitions_under_a_low_soft_open_file_limit(make_broker):
    """Each partition holds several descriptors (segment, index, two for in-flight syncs), so
    a broker started under the common soft limit of 1024 would fail opens at a few hundred
    partitions. The broker raises its soft limit to the hard one at start; started here with a
    soft limit of 256, it must still serve 400 partitions (about 1,600 descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"hard open-file limit {hard} is too low to show the raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        b = make_broker()  # inherits the soft limit of 256
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "open file limit raised from 256" in b.log()
    topic = unique_topic("many")
    n = 400
    admin = ck_admin(b.bootstrap)  # held: futures fail once their client is destroyed
    futures = admin.create_topics([NewTopic(topic, num_partitions=n, replication_factor=1)])
    futures[topic].result(timeout=60)
    reports = produce_all(producer(b.bootstrap),
                          [(topic, p, None, b"v-%d" % p, None, None) for p in range(n)])
    assert [err for err, _, _ in reports if err is not None] == []
    got = consume_range(b.bootstrap, topic, range(n))
    assert {p: [m.value() for m in msgs] for p, msgs in got.items()} == \
        {p: [b"v-%d" % p] for p in range(n)}
    assert b.alive()
