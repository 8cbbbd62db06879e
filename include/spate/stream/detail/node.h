// Internal: the operator graph a topology_builder builds and an engine runs. Not for users;
// the DSL in pipeline.h creates these nodes.
//
// Elements travel synchronously: an operator's emit() calls each downstream consumer's push()
// before returning, on the engine's thread. Watermarks travel separately: after each input
// record (and each wall-clock advance) the engine visits the nodes in topological order, and a
// node whose input watermark (the minimum over its inputs) advanced gets on_watermark(). A node
// emits what the new watermark completes (window results, timers) from there, before any
// downstream node sees the new watermark, so those results are never late downstream.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include "base/result.h"
#include "spate/stream/errc.h"
#include "spate/stream/state_store.h"
#include "spate/stream/types.h"
#include "spate/stream/watermark.h"

namespace spate::stream {

struct engine_stats {
  uint64_t records_in = 0;
  uint64_t late_records = 0;          // routed to a late side output or dropped
  uint64_t late_records_dropped = 0;  // of those, with no side output to go to
  uint64_t rejected_records = 0;      // undecodable or without event time, whatever the policy
  uint64_t dead_letters = 0;          // of those, written to a dead-letter topic
  uint64_t null_values_skipped = 0;   // tombstones on a stream source
  uint64_t records_out = 0;
  // Records read back from a repartition topic that were applied before (a restarted upstream
  // task sent them again), dropped.
  uint64_t repartition_duplicates = 0;
};

namespace detail {

// One value on its way through the pipeline, with the key bytes and time it carries.
template <class T>
struct element {
  T value;
  std::optional<std::string> key;  // the source record's key, or what key_by computed
  timestamp_ms timestamp{0};
  record_origin origin;
};

// What nodes reach while they run; owned by the engine.
struct engine_context {
  state_store* store = nullptr;
  timestamp_ms wall_now{0};
  engine_stats* stats = nullptr;
  std::vector<output_record>* outputs = nullptr;
  // How many live accumulators a window step keeps deserialized in front of the store (see
  // detail/state_cache.h); 0: none, every update reads and writes the store.
  size_t state_cache_entries = 0;
  // Set by a node that found its own state unreadable (a corrupt store); the engine stops.
  std::optional<error> failure;
  void fail(error e) {
    if (!failure) failure = std::move(e);
  }
};

class node {
 public:
  node() = default;
  virtual ~node() = default;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Once, before the first record and after any restore: look up state, rebuild indexes.
  virtual void open(engine_context& c) { ctx = &c; }
  // The input watermark advanced to `watermark` (already stored in this->watermark).
  virtual void on_watermark(timestamp_ms) {}
  // The wall clock advanced (processing-time timers).
  virtual void on_wall_clock(timestamp_ms) {}
  // What this node's watermark is when it has no inputs (sources), or when it ignores them (a
  // key_by that the Kafka runtime splits a task at: its watermark comes from the repartition
  // topic's control records).
  virtual std::optional<timestamp_ms> own_watermark(timestamp_ms /*now*/) { return {}; }
  // True for steps whose outputs depend only on each input element, not on state, time or
  // the order of other inputs (map, filter, flat_map, an unkeyed process): a replay of the
  // same input gives the same outputs in the same order.
  virtual bool per_record() const { return false; }
  // Writes state the node keeps outside the store (a window's write-back cache, a
  // repartitioning key_by's sequence numbers) to the store, so that the store, and so its change
  // capture, holds the node's current state. The engine calls it before each checkpoint takes
  // the changes, and before anyone else reads the store.
  virtual void flush_state() {}

  std::string kind;  // "map", "window", ... for describe()
  std::string name;  // unique in the topology; names the node's state namespaces
  std::vector<node*> inputs;
  timestamp_ms watermark = min_time;
  engine_context* ctx = nullptr;
  // Side outputs requested from this node, by tag name (channel nodes of the tag's type), and
  // the element type of those this node declares (a window's late output).
  std::map<std::string, node*, std::less<>> side_channels;
  std::map<std::string, std::type_index, std::less<>> declared_side_outputs;
};

template <class T>
class consumer {
 public:
  virtual ~consumer() = default;
  virtual void push(const element<T>& e) = 0;
  // The same, for an element no other step reads after this one: a step may move its value
  // (and key) on instead of copying them. Steps that keep or pass on elements override it;
  // the rest treat it as push(e).
  virtual void push_owned(element<T>&& e) { push(e); }
};

template <class T>
class producer_node : public node {
 public:
  using node::node;
  void emit(const element<T>& e) {
    for (auto* d : _downstream) d->push(e);
  }
  // An element this step made and no longer needs: every downstream step but the last reads
  // it as it is, the last may take it (no other step reads it after that one).
  void emit(element<T>&& e) {
    if (_downstream.empty()) return;
    for (size_t i = 0; i + 1 < _downstream.size(); ++i) _downstream[i]->push(e);
    _downstream.back()->push_owned(std::move(e));
  }
  void add_downstream(consumer<T>* c) { _downstream.push_back(c); }

 private:
  std::vector<consumer<T>*> _downstream;
};

// Passes elements through: a side output's channel, or the union of several streams.
template <class T>
class channel_node final : public producer_node<T>, public consumer<T> {
 public:
  using producer_node<T>::producer_node;
  void push(const element<T>& e) override { this->emit(e); }
  void push_owned(element<T>&& e) override { this->emit(std::move(e)); }
};

// Sends `e` to the side output `tag` of node `from`, if anyone asked for it; returns false when
// nobody did (the element is dropped). A channel of another element type is a usage error
// (build() rejects it for declared outputs; process functions find out here).
template <class T>
bool emit_side(node& from, std::string_view tag, const element<T>& e) {
  auto it = from.side_channels.find(tag);
  if (it == from.side_channels.end()) return false;
  auto* ch = dynamic_cast<channel_node<T>*>(it->second);
  if (ch == nullptr) {
    throw std::invalid_argument("side output '" + std::string(tag) +
                                "' was requested with another element type");
  }
  ch->push(e);
  return true;
}

// The engine's view of a source node (the typed part lives in pipeline.h).
class source_hooks {
 public:
  virtual ~source_hooks() = default;
  virtual const std::string& topic() const = 0;
  virtual node& as_node() = 0;
  virtual void assign(partition_id p, timestamp_ms now) = 0;
  // Decodes `r` and pushes it downstream; an error is what the source's error policy leaves
  // to the caller (errc::deserialization_failed, errc::invalid_timestamp).
  virtual status ingest(const input_record& r, std::string_view topic_name) = 0;
  // The same for a value made in this process (engine::process_value): `value` points to a
  // `type` the source may move from; no serde runs. A source of another type refuses it.
  virtual status ingest_value(void* /*value*/, const std::type_info& /*type*/, partition_id /*p*/,
                              spate::offset /*o*/, timestamp_ms /*t*/,
                              std::string_view topic_name) {
    return error(errc::invalid_argument,
                 "the source of topic '" + std::string(topic_name) + "' takes no typed values");
  }
  // True when this source holds back no watermark as of `now`: every partition it reads is idle
  // (see watermark.h), or it never holds one back (a table). A repartitioning key_by reports
  // its upstream task as idle downstream when every source upstream of it is idle.
  virtual bool idle(timestamp_ms /*now*/) { return true; }
  // A table's topic (table_of), which the Kafka runtime reads to its end before the streams.
  virtual bool is_table() const { return false; }
};

// The graph: nodes in creation order, which is a topological order (a node is created after
// every node it reads from; side-output channels after their producer).
struct graph {
  std::vector<std::unique_ptr<node>> nodes;
  std::vector<source_hooks*> sources;
  std::vector<std::string> sink_topics;
  std::vector<std::string> errors;  // reported by build()
  bool built = false;

  template <class N, class... A>
  N* add(std::string kind, std::string user_name, A&&... args) {
    SPATE_ASSERT_MSG(!built, "a stream step was added after build()");
    auto n = std::make_unique<N>(std::forward<A>(args)...);
    n->kind = std::move(kind);
    n->name = user_name.empty() ? n->kind + "-" + std::to_string(nodes.size()) : user_name;
    for (auto& other : nodes) {
      if (other->name == n->name) errors.push_back("two steps are named '" + n->name + "'");
    }
    N* raw = n.get();
    nodes.push_back(std::move(n));
    return raw;
  }
};

template <class T, class C>
void connect(producer_node<T>* from, C* to) {
  from->add_downstream(static_cast<consumer<T>*>(to));
  to->inputs.push_back(from);
}

}  // namespace detail
}  // namespace spate::stream
