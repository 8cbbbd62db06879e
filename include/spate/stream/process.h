// process steps: user code that sees one record at a time and may emit any number of results,
// send values to side outputs, and — on a keyed stream — keep per-key state and set timers.
//
//   output_tag<order> big{"big-orders"};
//   auto alerts = orders.key_by(&order::user_id)
//       .process<std::string>(
//           [](const order& o, keyed_context<std::string, std::string>& ctx) {
//             auto n = ctx.state<int64_t>("count");
//             n.update(n.value().value_or(0) + 1);
//             if (o.amount > 1000) ctx.output(big, o);
//             ctx.register_event_time_timer(ctx.timestamp() + 60'000);
//           },
//           [](timestamp_ms t, keyed_context<std::string, std::string>& ctx) {
//             ctx.emit(ctx.key() + " quiet since " + std::to_string(t));
//           });
//   auto big_orders = alerts.side_output(big);
//
// State is per key and per name: ctx.state<V>(name) reads and writes the current record's (or
// timer's) key. Event-time timers fire when the watermark reaches their time, processing-time
// timers when the wall clock does; registering the same (key, time) twice gives one timer.
// Emitted values carry the current record's timestamp (a timer's time inside on_timer) unless
// given one. Contexts are valid only during the call that received them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "spate/stream/detail/node.h"
#include "spate/stream/serde.h"

namespace spate::stream {

namespace detail {

// The untyped part of a keyed process step: its state namespaces and timers (process.cc).
class keyed_core {
 public:
  void open(engine_context& ctx, const std::string& node_name);
  state_store& store() { return *_ctx->store; }
  engine_context& ctx() { return *_ctx; }
  state_store::namespace_id state_namespace(std::string_view name);

  void register_timer(char kind, timestamp_ms t);
  void delete_timer(char kind, timestamp_ms t);
  // Removes and returns the earliest timer of `kind` at or before `limit`.
  std::optional<std::pair<timestamp_ms, std::string>> pop_due(char kind, timestamp_ms limit);

  std::string current_key;

 private:
  std::set<std::pair<int64_t, std::string>>& timers(char kind) {
    return kind == 'e' ? _event_timers : _processing_timers;
  }
  engine_context* _ctx = nullptr;
  std::string _node_name;
  state_store::namespace_id _timer_ns = 0;
  std::map<std::string, state_store::namespace_id, std::less<>> _states;
  std::set<std::pair<int64_t, std::string>> _event_timers;
  std::set<std::pair<int64_t, std::string>> _processing_timers;
};

}  // namespace detail

// What every process function gets: the record's time, the watermark, the wall clock, and ways
// to emit results and side outputs.
template <class Out>
class context {
 public:
  context(detail::producer_node<Out>& node, timestamp_ms t, const std::optional<std::string>& key,
          record_origin origin)
      : _node(node), _time(t), _key_bytes(key), _origin(origin) {}

  // The record's event time (inside on_timer: the timer's time).
  timestamp_ms timestamp() const { return _time; }
  timestamp_ms watermark() const { return _node.watermark; }
  timestamp_ms wall_clock() const { return _node.ctx->wall_now; }
  // The source topic/partition/offset of the record (none inside on_timer).
  const record_origin& origin() const { return _origin; }

  void emit(Out v) { emit(std::move(v), _time); }
  void emit(Out v, timestamp_ms t) {
    _node.emit(detail::element<Out>{std::move(v), _key_bytes, t, _origin});
  }
  // Sends v to side output `tag` (dropped when nobody asked for that side output).
  template <class T>
  void output(const output_tag<T>& tag, T v) {
    detail::emit_side<T>(_node, tag.name,
                         detail::element<T>{std::move(v), _key_bytes, _time, _origin});
  }

 protected:
  detail::producer_node<Out>& _node;
  timestamp_ms _time;
  const std::optional<std::string>& _key_bytes;
  record_origin _origin;
};

// One named value per key, kept in the state store (so it has a changelog and survives a
// restart). Reads and writes go to the key of the record (or timer) being processed.
template <class V>
class value_state {
 public:
  value_state(detail::keyed_core& core, state_store::namespace_id ns, serde<V> s)
      : _core(core), _ns(ns), _serde(std::move(s)) {}

  std::optional<V> value() const {
    auto bytes = _core.store().get(_ns, _core.current_key);
    if (!bytes) return std::nullopt;
    auto v = _serde.deserialize(*bytes);
    if (!v) {
      _core.ctx().fail(v.error().with_context("value state"));
      return std::nullopt;
    }
    return std::move(*v);
  }
  void update(const V& v) { _core.store().put(_ns, _core.current_key, _serde.serialize(v)); }
  void clear() { _core.store().erase(_ns, _core.current_key); }

 private:
  detail::keyed_core& _core;
  state_store::namespace_id _ns;
  serde<V> _serde;
};

// The context of a process step on a keyed stream: adds the key, state and timers.
template <class K, class Out>
class keyed_context : public context<Out> {
 public:
  keyed_context(detail::producer_node<Out>& node, detail::keyed_core& core,
                const serde<K>& key_serde, timestamp_ms t, const std::optional<std::string>& key,
                record_origin origin)
      : context<Out>(node, t, key, origin), _core(core), _key_serde(key_serde) {}

  // The current key, decoded with the key_by serde.
  const K& key() {
    if (!_key) {
      auto k = _key_serde.deserialize(_core.current_key);
      if (!k) throw std::runtime_error("cannot decode key: " + k.error().message());
      _key = std::move(*k);
    }
    return *_key;
  }

  template <class V>
  value_state<V> state(std::string_view name, serde<V> s = default_serde<V>()) {
    return value_state<V>(_core, _core.state_namespace(name), std::move(s));
  }

  void register_event_time_timer(timestamp_ms t) { _core.register_timer('e', t); }
  void register_processing_time_timer(timestamp_ms t) { _core.register_timer('p', t); }
  void delete_event_time_timer(timestamp_ms t) { _core.delete_timer('e', t); }
  void delete_processing_time_timer(timestamp_ms t) { _core.delete_timer('p', t); }

 private:
  detail::keyed_core& _core;
  const serde<K>& _key_serde;
  std::optional<K> _key;
};

namespace detail {

template <class In, class Out>
class process_node final : public producer_node<Out>, public consumer<In> {
 public:
  // See step_fn (operators.h): `owned` may move from the value.
  struct fn {
    std::function<void(const In&, context<Out>&)> shared;
    std::function<void(In&&, context<Out>&)> owned;
  };
  explicit process_node(fn f) : _f(std::move(f)) {}
  bool per_record() const override { return true; }
  void push(const element<In>& e) override {
    context<Out> c(*this, e.timestamp, e.key, e.origin);
    _f.shared(e.value, c);
  }
  void push_owned(element<In>&& e) override {
    context<Out> c(*this, e.timestamp, e.key, e.origin);
    _f.owned(std::move(e.value), c);
  }

 private:
  fn _f;
};

template <class K, class In, class Out>
class keyed_process_node final : public producer_node<Out>, public consumer<In> {
 public:
  using element_fn = std::function<void(const In&, keyed_context<K, Out>&)>;
  using timer_fn = std::function<void(timestamp_ms, keyed_context<K, Out>&)>;

  keyed_process_node(element_fn on_element, timer_fn on_timer, serde<K> key_serde)
      : _on_element(std::move(on_element)),
        _on_timer(std::move(on_timer)),
        _key_serde(std::move(key_serde)) {}

  void open(engine_context& c) override {
    this->ctx = &c;
    _core.open(c, this->name);
  }

  void push(const element<In>& e) override {
    _core.current_key = e.key.value_or(std::string());
    keyed_context<K, Out> c(*this, _core, _key_serde, e.timestamp, e.key, e.origin);
    _on_element(e.value, c);
  }

  void on_watermark(timestamp_ms wm) override { fire('e', wm); }
  void on_wall_clock(timestamp_ms now) override { fire('p', now); }

 private:
  void fire(char kind, timestamp_ms limit) {
    while (auto due = _core.pop_due(kind, limit)) {
      _core.current_key = due->second;
      std::optional<std::string> key = due->second;
      keyed_context<K, Out> c(*this, _core, _key_serde, due->first, key, {});
      if (_on_timer) _on_timer(due->first, c);
    }
  }

  element_fn _on_element;
  timer_fn _on_timer;
  serde<K> _key_serde;
  keyed_core _core;
};

}  // namespace detail
}  // namespace spate::stream
