// Internal: the stateless steps (map, filter, flat_map, key_by, sinks) and the typed source.
#pragma once

#include <functional>
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

  status ingest(const input_record& r, std::string_view topic_name) override {
    auto& c = *this->ctx;
    if (!r.value) {
      // A tombstone means "key deleted" on a table; a stream of events has no use for it.
      ++c.stats->null_values_skipped;
      return ok();
    }
    auto v = _serde.deserialize(*r.value);
    if (!v) return reject(c, r, std::move(v).error());
    timestamp_ms t = r.timestamp;
    if (_mode == time_mode::processing_time) {
      t = c.wall_now;
    } else if (_extract) {
      t = _extract(*v, r.timestamp);
    }
    if (_mode == time_mode::event_time && t.value < 0) {
      return reject(c, r, error(errc::invalid_timestamp, "event time " + std::to_string(t.value)));
    }
    observe(r.partition, t, c.wall_now);
    element<T> e{std::move(*v), r.key, t, record_origin{topic_name, r.partition, r.offset}};
    this->emit(e);
    return ok();
  }

 private:
  serde<T> _serde;
  std::function<timestamp_ms(const T&, timestamp_ms)> _extract;
};

template <class In, class Out>
class map_node final : public producer_node<Out>, public consumer<In> {
 public:
  explicit map_node(std::function<Out(const In&)> f) : _f(std::move(f)) {}
  void push(const element<In>& e) override {
    this->emit(element<Out>{_f(e.value), e.key, e.timestamp, e.origin});
  }

 private:
  std::function<Out(const In&)> _f;
};

template <class T>
class filter_node final : public producer_node<T>, public consumer<T> {
 public:
  explicit filter_node(std::function<bool(const T&)> f) : _f(std::move(f)) {}
  void push(const element<T>& e) override {
    if (_f(e.value)) this->emit(e);
  }

 private:
  std::function<bool(const T&)> _f;
};

template <class In, class Out>
class flat_map_node final : public producer_node<Out>, public consumer<In> {
 public:
  explicit flat_map_node(std::function<std::vector<Out>(const In&)> f) : _f(std::move(f)) {}
  void push(const element<In>& e) override {
    for (auto& v : _f(e.value)) {
      this->emit(element<Out>{std::move(v), e.key, e.timestamp, e.origin});
    }
  }

 private:
  std::function<std::vector<Out>(const In&)> _f;
};

// Sets the element's key bytes from a key computed from its value.
template <class K, class T>
class key_by_node final : public producer_node<T>, public consumer<T> {
 public:
  key_by_node(std::function<K(const T&)> f, serde<K> s) : _f(std::move(f)), _serde(std::move(s)) {}
  void push(const element<T>& e) override {
    element<T> out{e.value, _serde.serialize(_f(e.value)), e.timestamp, e.origin};
    this->emit(out);
  }

 private:
  std::function<K(const T&)> _f;
  serde<K> _serde;
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
