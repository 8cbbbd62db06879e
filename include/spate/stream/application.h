// application: runs a pipeline against Kafka (a Spate broker, Apache Kafka, Redpanda) through
// librdkafka, as a member of a consumer group. Start the same program several times with the
// same application id and the instances share the input partitions; when one dies, the others
// take over its partitions and their state.
//
//   application_config cfg{.application_id = "order-totals"};
//   cfg.client.bootstrap = "127.0.0.1:9092";
//   auto app = application::create([] { return order_totals::build(); }, std::move(cfg));
//   if (!app) return fail(app.error());
//   std::signal(SIGTERM, [](int) { the_app->stop(); });   // stop() is async-signal-safe
//   if (auto s = app->run(); !s) return fail(s.error());   // until stop() or a failure
//
// Tasks. Partition p of every source topic forms task p (the sources must be co-partitioned:
// the same key in the same partition number; run() refuses sources with different partition
// counts), run by its own engine with its own state store,
// built from a fresh topology (the factory is called once per task). The group's "range"
// assignor gives partition p of all sources to one instance, so a task never straddles two.
//
// State. Every change to a task's state goes to partition p of one compacted changelog topic,
// "<application_id>-changelog" (key: the namespace and the state key), created at the first
// change. Each checkpoint writes its changes and then a marker holding the input offsets that
// state reflects. Before a task processes a record its state is restored from its changelog
// partition, applying changes only up to the last marker, and its input resumes at the
// marker's offsets: state and position always agree, even when an instance died between
// writing a checkpoint and committing its offsets. Changes of a checkpoint cut short (no marker
// after them) are rolled back by writing their keys again with the restored values. The
// changelog is created with min.compaction.lag.ms = 1 h so that compaction cannot drop a
// value such a rollback needs: a restore more than an hour after a crash in the middle of a
// checkpoint may lose the keys that checkpoint touched.
//
// Checkpoints (every commit_interval, at a rebalance and at stop): each task's outputs, state
// changes and marker are produced (idempotent producer, acks=all), the producer is flushed
// (everything acknowledged), and then the input offsets are committed to the group. After a
// crash, state is exact (no input counted twice or lost) and outputs since the last checkpoint
// are produced again (at-least-once outputs: consumers keep the latest result per key and
// window). Exactly-once outputs (one transaction per checkpoint) fit the same step once the
// broker has transactions.
//
// Keys. Every key_by repartitions (as Kafka Streams' selectKey + groupByKey and Flink's keyBy
// do), whatever the input's keys: the task's steps before the key_by write each record (key
// bytes, the key_by's value serde, event time) to the topic
// "<application_id>-<step name>-repartition" (repartition.h), created at start with the
// sources' partition count, in the partition Kafka's default partitioner (murmur2) picks for
// the key; the steps after it read partition p of that topic in task p. So every record of a
// key reaches one task, and a topic that any Kafka client produced keyed by the same bytes is
// co-partitioned with it (stream-table joins). An existing repartition topic with another
// partition count stops run() at start. Writes are outputs of the checkpoint (flushed and
// checked before the marker and the commit); the topic's offset is part of the task's
// position in the marker. Each data record carries (upstream task, sequence number); the
// sequence counter and, downstream, the highest number applied per upstream task are state, so
// records sent again by a task restarted from its marker are dropped and state stays exact --
// when the step's upstream half reads one input through per-record steps only. Behind a merge,
// a join, a table, a window or timers a replay may number records differently, so there every
// record is applied: at-least-once state across a crash, never a loss.
// Watermarks cross in control records: each upstream task writes its watermark to every
// partition, and downstream takes the minimum over the upstream tasks that are not idle, never
// the data records' own times (a lagging upstream task cannot make its records late). Format:
// docs/formats/stream-repartition.md. After each checkpoint, the records below the markers'
// positions are deleted (DeleteRecords; application_config::purge_repartition_topics). The
// in-process engine and test_driver do not split (one task sees everything).
// The opt-out: key_by_record_key (pipeline.h), for input already keyed by its record key and
// partitioned by murmur2 (Kafka Streams' groupByKey on an unchanged key, Flink's
// reinterpretAsKeyedStream). The key is the record key itself, so no repartition topic is
// created for it and task p keys its own records in place; each record is checked to be in the
// partition murmur2 picks for its key, and one that is not (or has no key) stops run() with
// errc::misplaced_key, before any state of its key is touched in the wrong task.
//
// Failures. A record the source's error policy does not absorb, a failed delivery, a failed
// commit or a user function that throws stops run() with the error, without committing past
// it: restart the program (it resumes from the last checkpoint).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/config.h"
#include "observe/metrics.h"
#include "spate/stream/pipeline.h"
#include "spate/stream/state_store.h"

namespace spate::stream {

struct application_config {
  // The consumer group's id, and the prefix of the changelog topics.
  std::string application_id;
  client::client_config client;
  // How often a checkpoint commits the input; shorter means fewer repeated outputs after a
  // crash, longer means fewer flushes.
  duration commit_interval{std::chrono::seconds(5)};
  // How long the group waits for a silent instance before moving its tasks.
  duration session_timeout{std::chrono::seconds(10)};
  // The store of task `task` (one per task); null: make_memory_store(). A disk store (RocksDB)
  // needs a path per task.
  std::function<std::unique_ptr<state_store>(int task)> store_factory;
  // Replication factor of created changelog and repartition topics; -1: the broker's default.
  int16_t replication_factor = -1;
  // After each checkpoint, delete the repartition records the tasks' markers have moved past
  // (DeleteRecords). Off: they stay until the topic's retention deletes them (for inspection).
  bool purge_repartition_topics = true;
  // How often each task sends its watermark to every partition of a repartition topic, when it
  // moved (and at every checkpoint). Each send is tasks x partitions records, so shorter means
  // windows close sooner after the input's watermark passes them, at more control records.
  duration watermark_interval{std::chrono::milliseconds(200)};
  observe::registry* metrics = nullptr;  // null: observe::registry::global()
};

// What one instance is doing, for tools and tests.
struct application_status {
  std::vector<int> tasks;  // the task (partition) numbers this instance runs
  uint64_t checkpoints = 0;
  uint64_t records_processed = 0;
  uint64_t records_restored = 0;
};

class application {
 public:
  using topology_factory = std::function<result<topology>()>;

  // Checks the factory's topology (once); connecting happens in run().
  static result<application> create(topology_factory factory, application_config config);

  application(application&&) noexcept;
  application& operator=(application&&) noexcept;
  ~application();

  // Joins the group and processes until stop() or a failure; leaves the group before returning.
  status run();
  // Asks run() to checkpoint, leave the group and return. From any thread, or a signal handler.
  void stop();

  // A snapshot, safe to call from another thread while run() works.
  application_status status_snapshot() const;

  // The application's changelog topic.
  static std::string changelog_topic(const std::string& application_id);

 private:
  struct state;
  explicit application(std::unique_ptr<state> s);
  std::unique_ptr<state> _s;
};

}  // namespace spate::stream
