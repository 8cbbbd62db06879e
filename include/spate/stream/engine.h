// engine: runs one topology in-process, single-threaded, with no I/O of its own. This is the
// seam between the pipeline and whatever moves records: the Kafka runtime (consumer, producer,
// changelogs, checkpoints) or the test driver.
//
// The runtime's loop:
//
//   auto eng = engine::create(std::move(topology), {.store = make_memory_store()});
//   for (auto& c : read_changelogs()) eng->restore(c);        // rebuild state first
//   SPATE_TRY(eng->start(now));
//   eng->assign("orders", {partition_id(0), partition_id(1)}); // what the group gave us
//   while (running) {
//     for (auto& r : consumer.poll()) SPATE_TRY(eng->process(r));
//     SPATE_TRY(eng->advance_wall_clock(now()));               // timers, idleness
//     produce(eng->take_output());                              // any time
//     if (checkpoint_due) {
//       auto cp = eng->checkpoint();
//       produce(cp.outputs); produce_changelog(cp.state_changes);
//       producer.flush();                                       // outputs and state are durable
//       consumer.commit(cp.offsets);                            // then the input is consumed
//     }
//   }
//
// That order gives at-least-once: after a crash the input is re-read from the last committed
// offsets against the state of the last flushed changelog, and at worst some outputs repeat.
// Exactly-once fits the same seam: produce cp.outputs and cp.state_changes in one Kafka
// transaction together with cp.offsets (send offsets to transaction), commit it, and on abort
// recreate the engine from the changelog.
//
// Failures: process() returns an error for a record the source's error policy does not absorb
// (the offset is not advanced; the runtime decides: stop, or skip by not retrying). A user
// function that throws or a failing state store stops the engine: later calls return
// errc::engine_failed, because state may be half-updated; recover by recreating the engine and
// restoring from the changelog.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

#include "base/result.h"
#include "observe/metrics.h"
#include "spate/stream/detail/node.h"
#include "spate/stream/pipeline.h"
#include "spate/stream/state_store.h"
#include "spate/stream/types.h"

namespace spate::stream {

// How the Kafka runtime splits a task at its key_by steps (application.h): this engine is task
// `task` of `tasks`, and each key_by writes to and reads from
// repartition_topic(application_id, step name), and each key_by_record_key checks that every
// record's key is this task's (kafka_partition(key, tasks) == task). Unset: key_by keys in
// place, key_by_record_key checks only that records have a key (in-process).
struct split_config {
  std::string application_id;
  int32_t task = 0;
  int32_t tasks = 1;
};

// Where a split key_by's upstream half is in event time: what the runtime writes downstream in
// watermark control records (repartition.h).
struct split_progress {
  std::string topic;  // the repartition topic
  timestamp_ms watermark = min_time;
  bool idle = false;  // every source upstream of the step is idle
};

struct engine_config {
  std::unique_ptr<state_store> store;  // null: make_memory_store()
  std::optional<split_config> split;
  // Where the engine's counters (spate_stream_*_total) go; null: observe::registry::global().
  observe::registry* metrics = nullptr;
  std::string application = "default";  // the "application" label of those counters
  // Per window step: how many window accumulators stay deserialized in memory between records
  // (a write-back cache; written to the store at each checkpoint and when evicted, so the
  // changelog still gets every key's latest value before each checkpoint). It bounds the
  // cache's memory, so a disk store can still hold more state than memory; 0: no cache.
  size_t state_cache_entries = 100'000;
};

// The next offset to read, per input partition: what a checkpoint commits.
struct committed_offset {
  std::string topic;
  partition_id partition{0};
  spate::offset next{0};
  bool operator==(const committed_offset&) const = default;
};

// Everything a checkpoint must make durable, in this order: outputs and state changes first
// (flushed), then the offsets.
struct checkpoint_data {
  std::vector<output_record> outputs;
  std::vector<state_change> state_changes;
  std::vector<committed_offset> offsets;
};

class engine {
 public:
  static result<engine> create(topology t, engine_config config = {});

  engine(engine&&) noexcept;
  engine& operator=(engine&&) noexcept;
  ~engine();

  // Before start(): applies one change read back from a changelog topic.
  status restore(const state_change& change);
  // Opens the operators on the (restored) state; `now` is the wall clock.
  status start(timestamp_ms now);

  // The partitions of `topic` this engine reads: each holds its source's watermark until it
  // sends a record or goes idle. A partition seen in process() is assigned on the way.
  status assign(const std::string& topic, const std::vector<partition_id>& partitions);

  // One input record: decoded by its topic's source, pushed through the pipeline, then the
  // watermarks advance and whatever they complete (windows, timers) is emitted.
  status process(const input_record& r);
  // One input value made in this process: handed to `topic`'s source as the T it reads, with
  // no serde round trip and no copy. This is how an in-process data generator feeds a pipeline
  // (as Flink's datagen source hands its rows to the operators chained to it). Otherwise as
  // process(): event time from the source's extractor (else `timestamp`), the partition's
  // next offset tracked for checkpoints, then watermarks advance. A source that reads another
  // type (or a table, a repartition topic) refuses it with errc::invalid_argument.
  template <class T>
  status process_value(const std::string& topic, partition_id partition, spate::offset offset,
                       T value, timestamp_ms timestamp) {
    return process_erased(topic, partition, offset, timestamp, typeid(T), &value);
  }
  // The wall clock moved to `now` (never back): processing-time timers and windows, idle
  // partitions.
  status advance_wall_clock(timestamp_ms now);
  // No more input (a bounded input, a test): every source's watermark jumps to max_time, so all
  // windows fire and all event-time timers run.
  status end_of_input();

  // Records written by sinks (and dead letters) since the last call.
  std::vector<output_record> take_output();
  // Writes the operators' cached state to the store, then takes the outputs, the store's
  // changes and the offsets. A stopped engine (or one whose store fails while the cached state
  // is written) gives the outputs only: no changes and no offsets to commit.
  checkpoint_data checkpoint();

  // Each split key_by's upstream watermark (empty without engine_config::split).
  std::vector<split_progress> splits() const;

  // The source's current watermark (min_time before any).
  timestamp_ms watermark(const std::string& topic) const;
  timestamp_ms wall_clock() const;
  const engine_stats& stats() const;
  // The store, with the operators' cached state written to it first (so reads see the current
  // state).
  state_store& store();
  const topology& pipeline() const;

 private:
  struct state;
  explicit engine(std::unique_ptr<state> s);
  status process_erased(const std::string& topic, partition_id partition, spate::offset offset,
                        timestamp_ms timestamp, const std::type_info& type, void* value);
  std::unique_ptr<state> _s;
};

}  // namespace spate::stream
