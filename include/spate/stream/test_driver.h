// test_driver: runs a pipeline in-process with a controllable wall clock and no broker, for
// users' tests and our own (the role of Kafka Streams' TopologyTestDriver).
//
//   auto d = test_driver::create(std::move(*b.build()));
//   d->declare_partitions("orders", 2);                // both must advance the watermark
//   ASSERT_TRUE(d->pipe("orders", order{"u1", 5}, json_serde<order>(), timestamp_ms(1000)));
//   d->advance_wall_clock(std::chrono::seconds(30));   // idleness, processing time
//   ASSERT_TRUE(d->end_of_input());                     // fire every window
//   auto out = d->read("order-totals", json_serde<windowed<std::string, int64_t>>());
//   // out->at(0).value.value == 5, out->at(0).key == "u1", out->at(0).timestamp ...
//
// Offsets are assigned per partition (0, 1, 2, ...). The wall clock starts at
// config.start_time and moves only when told. Outputs are collected per topic after every call
// and read (and removed) with read()/read_raw(). The engine is reachable for anything else:
// its store, stats and checkpoint().
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "spate/stream/engine.h"
#include "spate/stream/serde.h"

namespace spate::stream {

struct test_driver_config {
  timestamp_ms start_time{0};
  engine_config engine;
};

// One record a pipeline wrote, decoded.
template <class T>
struct test_record {
  std::optional<std::string> key;
  T value;
  timestamp_ms timestamp{-1};
};

class test_driver {
 public:
  static result<test_driver> create(topology t, test_driver_config config = {});
  // The same, starting from state read back from a changelog (a restart in a test).
  static result<test_driver> create(topology t, const std::vector<state_change>& restore,
                                    test_driver_config config = {});

  // Assigns partitions 0..n-1 of topic: each holds the watermark until it sends or idles.
  status declare_partitions(const std::string& topic, int n);

  // Feeds one record (raw bytes) with the next offset of its partition.
  status pipe_raw(const std::string& topic, std::optional<std::string> key,
                  std::optional<std::string> value, timestamp_ms t,
                  partition_id p = partition_id(0));
  template <class T>
  status pipe(const std::string& topic, const T& value, const serde<T>& s, timestamp_ms t,
              partition_id p = partition_id(0), std::optional<std::string> key = std::nullopt) {
    return pipe_raw(topic, std::move(key), s.serialize(value), t, p);
  }

  status advance_wall_clock(duration d);
  timestamp_ms wall_clock() const;
  status end_of_input();

  // Removes and returns what the pipeline wrote to `topic` so far.
  std::vector<output_record> read_raw(const std::string& topic);
  template <class T>
  result<std::vector<test_record<T>>> read(const std::string& topic, const serde<T>& s) {
    std::vector<test_record<T>> out;
    for (auto& r : read_raw(topic)) {
      auto v = s.deserialize(r.value.value_or(std::string()));
      if (!v) return std::move(v).error().with_context("output on " + topic);
      out.push_back(test_record<T>{std::move(r.key), std::move(*v), r.timestamp});
    }
    return out;
  }

  // Every entry of a state namespace, in key order (window state: see detail/state_keys.h).
  std::vector<std::pair<std::string, std::string>> state(const std::string& ns);
  // A process step's value state `name` for the key with bytes `key` (as key_by wrote them).
  template <class V>
  result<std::optional<V>> value_state(const std::string& step, const std::string& name,
                                       const std::string& key,
                                       const serde<V>& s = default_serde<V>()) {
    auto& store = _engine.store();
    auto bytes = store.get(store.open(step + "/" + name), key);
    if (!bytes) return std::optional<V>();
    auto v = s.deserialize(*bytes);
    if (!v) return std::move(v).error();
    return std::optional<V>(std::move(*v));
  }

  engine& get_engine() { return _engine; }

 private:
  explicit test_driver(engine e) : _engine(std::move(e)) {}
  void collect();

  engine _engine;
  std::map<std::pair<std::string, int32_t>, int64_t> _next_offset;
  std::map<std::string, std::deque<output_record>> _outputs;
};

}  // namespace spate::stream
