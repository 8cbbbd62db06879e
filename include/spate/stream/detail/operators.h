// Internal: the stateless steps (map, filter, flat_map, key_by, sinks) and the typed source.
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "spate/stream/detail/node.h"
#include "spate/stream/serde.h"

namespace spate::stream {

enum class time_mode {
  event_time,       // timestamps from the record or an extractor; watermarks from them
  processing_time,  // the wall clock at arrival; the watermark follows the wall clock
};

// What a source does with a record it cannot decode (bad bytes for its serde) or whose event
// time is missing.
enum class error_policy {
  fail,         // process() returns the error and the offset is not advanced: the pipeline
                // stops on the record until someone decides (Kafka Streams' default too)
  skip,         // count it, log it, go on
  dead_letter,  // write the raw record to source_options::dead_letter_topic with a
                // "spate.error" header saying why, then go on
};

template <class T>
struct source_options {
  std::string name;  // the step's name (default "source-<n>")
  time_mode time = time_mode::event_time;
  // Event time from the value (and the record's own timestamp); unset: the record's timestamp.
  std::function<timestamp_ms(const T&, timestamp_ms record_time)> timestamp;
  watermark_strategy watermarks;
  error_policy on_error = error_policy::fail;
  std::string dead_letter_topic;  // required with error_policy::dead_letter
};

namespace detail {

// The untyped half of a source: watermarks and what happens to bad records. In source.cc.
class source_core {
 public:
  source_core(std::string topic, time_mode mode, watermark_strategy w, error_policy policy,
              std::string dead_letter_topic)
      : _topic(std::move(topic)),
        _mode(mode),
        _watermarks(w),
        _policy(policy),
        _dead_letter_topic(std::move(dead_letter_topic)) {}

  // A bad record: counts it and applies the policy; returns what process() should return.
  status reject(engine_context& ctx, const input_record& r, error e);
  void observe(partition_id p, timestamp_ms event_time, timestamp_ms now);
  timestamp_ms current_watermark(timestamp_ms now);
  void assign_partition(partition_id p, timestamp_ms now) { _watermarks.assign(p, now); }
  // Processing time follows the wall clock, so such a source is never idle.
  bool all_idle(timestamp_ms now) const {
    return _mode == time_mode::event_time && _watermarks.all_idle(now);
  }

 protected:
  std::string _topic;
  time_mode _mode;
  partition_watermarks _watermarks;
  timestamp_ms _processing_watermark = min_time;
  error_policy _policy;
  std::string _dead_letter_topic;
};

template <class T>
class source_node final : public producer_node<T>, public source_hooks, private source_core {
 public:
  source_node(std::string topic, serde<T> value_serde, source_options<T> opts)
      : source_core(std::move(topic), opts.time, opts.watermarks, opts.on_error,
                    opts.dead_letter_topic),
        _serde(std::move(value_serde)),
        _extract(std::move(opts.timestamp)) {}

  const std::string& topic() const override { return _topic; }
  node& as_node() override { return *this; }
  void assign(partition_id p, timestamp_ms now) override { assign_partition(p, now); }
  std::optional<timestamp_ms> own_watermark(timestamp_ms now) override {
    return current_watermark(now);
  }
  bool idle(timestamp_ms now) override { return all_idle(now); }

  status ingest(const input_record& r, std::string_view topic_name) override {
    auto& c = *this->ctx;
    if (!r.value) {
      // A tombstone means "key deleted" on a table; a stream of events has no use for it.
      ++c.stats->null_values_skipped;
      return ok();
    }
    auto v = _serde.deserialize(*r.value);
    if (!v) return reject(c, r, std::move(v).error());
    return deliver(std::move(*v), r.key, r.timestamp, r.partition, r.offset, topic_name,
                   [&](error e) { return reject(c, r, std::move(e)); });
  }

  status ingest_value(void* value, const std::type_info& type, partition_id p, spate::offset o,
                      timestamp_ms t, std::string_view topic_name) override {
    if (type != typeid(T)) return source_hooks::ingest_value(value, type, p, o, t, topic_name);
    T& v = *static_cast<T*>(value);
    return deliver(std::move(v), std::nullopt, t, p, o, topic_name, [&](error e) {
      // The policy's dead letter carries bytes: the value's, through the source's serde.
      input_record r{_topic, p, o, std::nullopt, _serde.serialize(v), t, {}};
      return reject(*this->ctx, r, std::move(e));
    });
  }

 private:
  // Stamps the value with its event time and sends it down the pipeline; `reject` gets an
  // event time the value does not have.
  template <class Reject>
  status deliver(T&& v, const std::optional<std::string>& key, timestamp_ms record_time,
                 partition_id p, spate::offset o, std::string_view topic_name, Reject&& reject) {
    auto& c = *this->ctx;
    timestamp_ms t = record_time;
    if (_mode == time_mode::processing_time) {
      t = c.wall_now;
    } else if (_extract) {
      t = _extract(v, record_time);
    }
    if (_mode == time_mode::event_time && t.value < 0) {
      return reject(error(errc::invalid_timestamp, "event time " + std::to_string(t.value)));
    }
    observe(p, t, c.wall_now);
    this->emit(element<T>{std::move(v), key, t, record_origin{topic_name, p, o}});
    return ok();
  }

  serde<T> _serde;
  std::function<timestamp_ms(const T&, timestamp_ms)> _extract;
};

// A step's user function in two forms: `shared` for an element other steps read too, `owned`
// for one this step may take (consumer::push_owned). pipeline.h makes both from what the user
// gave: the same function when it takes `const In&` (or a copy), and for one that takes `In&&`
// only, `shared` calls it on a copy.
template <class Fn, class OwnedFn>
struct step_fn {
  Fn shared;
  OwnedFn owned;
};

template <class In, class Out>
class map_node final : public producer_node<Out>, public consumer<In> {
 public:
  using fn = step_fn<std::function<Out(const In&)>, std::function<Out(In&&)>>;
  explicit map_node(fn f) : _f(std::move(f)) {}
  bool per_record() const override { return true; }
  void push(const element<In>& e) override {
    this->emit(element<Out>{_f.shared(e.value), e.key, e.timestamp, e.origin});
  }
  void push_owned(element<In>&& e) override {
    this->emit(element<Out>{_f.owned(std::move(e.value)), std::move(e.key), e.timestamp, e.origin});
  }

 private:
  fn _f;
};

template <class T>
class filter_node final : public producer_node<T>, public consumer<T> {
 public:
  explicit filter_node(std::function<bool(const T&)> f) : _f(std::move(f)) {}
  bool per_record() const override { return true; }
  void push(const element<T>& e) override {
    if (_f(e.value)) this->emit(e);
  }
  void push_owned(element<T>&& e) override {
    if (_f(e.value)) this->emit(std::move(e));
  }

 private:
  std::function<bool(const T&)> _f;
};

template <class In, class Out>
class flat_map_node final : public producer_node<Out>, public consumer<In> {
 public:
  explicit flat_map_node(std::function<std::vector<Out>(const In&)> f) : _f(std::move(f)) {}
  bool per_record() const override { return true; }
  void push(const element<In>& e) override {
    for (auto& v : _f(e.value)) {
      this->emit(element<Out>{std::move(v), e.key, e.timestamp, e.origin});
    }
  }

 private:
  std::function<std::vector<Out>(const In&)> _f;
};

// The untyped half of a key_by that the Kafka runtime splits a task at (engine_config::split;
// the record format is docs/formats/stream-repartition.md). Upstream, each element becomes a
// record of the repartition topic, in the partition Kafka's partitioner picks for its key,
// stamped with (this task, next sequence number). Downstream, the step is a source over the
// topic's partition of this task: data records continue down the pipeline, except those whose
// sequence number is at or below the highest already applied from their upstream task (a
// restarted upstream task sends them again); control records carry each upstream task's
// watermark, and the step's watermark is the minimum over the upstream tasks not idle, never
// going back (as partition_watermarks does for partitions). Both counters are state, so the
// changelog commits them with the rest of the checkpoint. In repartition.cc.
class repartition_core : public source_hooks {
 public:
  virtual ~repartition_core() = default;
  // Whether the step can write its elements (it has a value serde).
  virtual bool can_split() const = 0;
  // Called by the engine before start(). `deduplicate`: whether the downstream half may drop
  // records by sequence number. Only sound when the upstream half numbers the same records
  // the same way when a restarted task replays its input: one input read in log order, and
  // only per-record steps (map, filter, flat_map, process without state) in between. Else
  // (a merge, a join, a window, timers) the replay may interleave or fire differently, and
  // dropping by number could lose records: every record is applied (at-least-once).
  void enable_split(std::string topic, int32_t task, int32_t tasks, bool deduplicate);
  bool deduplicates() const { return _deduplicate; }
  bool split() const { return _split; }

  const std::string& topic() const override { return _topic; }
  void assign(partition_id, timestamp_ms) override {}  // watermarks are per upstream task
  bool idle(timestamp_ms now) override;

  // The watermark of the upstream half (the minimum over the step's inputs), which the runtime
  // sends downstream in control records.
  timestamp_ms upstream_watermark() const { return _upstream_watermark; }

 protected:
  // An upstream element as a repartition record (the sequence number is taken now).
  output_record make_record(std::string key, std::string value, timestamp_ms t);
  // A record read from the topic: true if it is data to apply now; false for a control record
  // or a duplicate (the state is updated); an error for a record this format does not allow.
  result<bool> accept(const input_record& r, engine_stats& stats);
  // `upstream` is the inputs' watermark; returns the step's (downstream) watermark.
  timestamp_ms downstream_watermark(timestamp_ms upstream);
  void load(state_store& store, const std::string& step);
  void save(state_store& store);

 private:
  struct upstream_task {
    timestamp_ms watermark = min_time;
    bool idle = false;
    int64_t applied = 0;  // highest sequence number applied
    bool dirty = false;   // applied changed since the last checkpoint
  };
  bool _split = false;
  bool _deduplicate = true;
  std::string _topic;
  int32_t _task = 0;
  int32_t _tasks = 1;
  int64_t _sequence = 0;  // last sequence number written
  bool _sequence_dirty = false;
  std::vector<upstream_task> _upstreams;
  timestamp_ms _upstream_watermark = min_time;
  timestamp_ms _combined = min_time;
  state_store::namespace_id _ns = 0;
};

// Sets the element's key bytes from a key computed from its value. Split by the Kafka runtime,
// it also moves the element to the task that owns the key (repartition_core).
template <class K, class T>
class key_by_node final : public producer_node<T>, public consumer<T>, public repartition_core {
 public:
  key_by_node(std::function<K(const T&)> f, serde<K> s, std::optional<serde<T>> value_serde)
      : _f(std::move(f)), _serde(std::move(s)), _value_serde(std::move(value_serde)) {}

  void push(const element<T>& e) override {
    if (!split()) {
      this->emit(element<T>{e.value, _serde.serialize(_f(e.value)), e.timestamp, e.origin});
      return;
    }
    this->ctx->outputs->push_back(
        make_record(_serde.serialize(_f(e.value)), _value_serde->serialize(e.value), e.timestamp));
  }
  void push_owned(element<T>&& e) override {
    if (split()) return push(e);
    auto key = _serde.serialize(_f(e.value));
    this->emit(element<T>{std::move(e.value), std::move(key), e.timestamp, e.origin});
  }

  bool can_split() const override { return _value_serde.has_value(); }
  node& as_node() override { return *this; }

  void open(engine_context& c) override {
    node::open(c);
    if (split()) load(*c.store, this->name);
  }
  void flush_state() override {
    if (split()) save(*this->ctx->store);
  }
  std::optional<timestamp_ms> own_watermark(timestamp_ms) override {
    if (!split()) return {};
    timestamp_ms in = max_time;
    for (auto* i : this->inputs) in = std::min(in, i->watermark);
    return downstream_watermark(in);
  }

  status ingest(const input_record& r, std::string_view topic_name) override {
    auto apply = accept(r, *this->ctx->stats);
    if (!apply) return std::move(apply).error();
    if (!*apply) return ok();
    // We wrote these bytes with this serde: a failure is a corrupt topic, not bad user input.
    auto v = _value_serde->deserialize(r.value ? std::string_view(*r.value) : std::string_view());
    if (!v) {
      return std::move(v).error().with_context(r.topic + "[" + std::to_string(r.partition.value) +
                                               "]@" + std::to_string(r.offset.value));
    }
    this->emit(element<T>{std::move(*v), r.key, r.timestamp,
                          record_origin{topic_name, r.partition, r.offset}});
    return ok();
  }

 private:
  std::function<K(const T&)> _f;
  serde<K> _serde;
  std::optional<serde<T>> _value_serde;
};

// The untyped half of key_by_record_key: a step that declares its input already keyed (the
// record key bytes are the key) and partitioned by Kafka's default partitioner, so the Kafka
// runtime keys in place instead of repartitioning. Split by the runtime (task `task` of
// `tasks`), it checks that promise on every record: a null key, or a key whose partition
// (kafka_partition) is another task's, stops the engine with errc::misplaced_key naming the
// record, before anything downstream sees it. In-process (no split) only null keys fail: one
// task sees every key. In repartition.cc.
class record_key_core {
 public:
  virtual ~record_key_core() = default;
  // Called by the engine before start().
  void enable_check(int32_t task, int32_t tasks) {
    _task = task;
    _tasks = tasks;
  }

 protected:
  // The error for a record that breaks the promise, if it does.
  std::optional<error> misplaced(const std::optional<std::string>& key, const record_origin& o,
                                 const std::string& step) const;

 private:
  int32_t _task = 0;
  int32_t _tasks = 0;  // 0: not split, no partition check
};

// key_by_record_key: the element keeps its key bytes; see record_key_core.
template <class T>
class record_key_node final : public producer_node<T>, public consumer<T>, public record_key_core {
 public:
  bool per_record() const override { return true; }
  void push(const element<T>& e) override {
    if (auto err = misplaced(e.key, e.origin, this->name)) {
      this->ctx->fail(std::move(*err));
      return;
    }
    this->emit(e);
  }
  void push_owned(element<T>&& e) override {
    if (auto err = misplaced(e.key, e.origin, this->name)) {
      this->ctx->fail(std::move(*err));
      return;
    }
    this->emit(std::move(e));
  }
};

template <class T>
class sink_node final : public node, public consumer<T> {
 public:
  sink_node(std::string topic, serde<T> s) : _topic(std::move(topic)), _serde(std::move(s)) {}
  void push(const element<T>& e) override {
    this->ctx->outputs->push_back(
        output_record{_topic, e.key, _serde.serialize(e.value), e.timestamp, {}});
    ++this->ctx->stats->records_out;
  }

 private:
  std::string _topic;
  serde<T> _serde;
};

}  // namespace detail
}  // namespace spate::stream
