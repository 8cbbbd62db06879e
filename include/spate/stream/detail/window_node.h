// Internal: the window step. One node per keyed window aggregation; state in the store under
// the node's name (detail/state_keys.h layout), value = the serialized accumulator.
//
// Event-time rules (the same for every window kind; see pipeline.h for the user's view):
//  - a window fires (emits its result, timestamped end - 1) when the watermark reaches
//    end - 1;
//  - it keeps its state until the watermark reaches end - 1 + allowed_lateness; a record that
//    lands in a fired but kept window updates it and re-emits the result at once;
//  - tumbling/hopping: a record is late when every window it belongs to is past that point;
//    session: when t + allowed_lateness <= watermark (so a late record can never fall into, or
//    bridge, a session that was already dropped);
//  - a late record goes to the late side output if one was requested, else it is dropped and
//    counted.
//
// In-memory indexes (which windows wait to fire, which wait to be dropped) are rebuilt from
// the store in open(), so a restored store resumes; all restored windows count as not fired
// yet, and fire again when the watermark passes them (at-least-once output).
//
// Tumbling and hopping windows keep their live accumulators deserialized in a write-back cache
// (detail/state_cache.h) and write them to the store at each checkpoint (flush_state) and on
// eviction. Session windows merge by scanning the store for a key's sessions, so they read and
// write the store directly.
#pragma once

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "spate/stream/detail/node.h"
#include "spate/stream/detail/state_cache.h"
#include "spate/stream/detail/state_keys.h"
#include "spate/stream/windows.h"

namespace spate::stream::detail {

template <class K, class In, class Acc, class R>
class window_node final : public producer_node<windowed<K, R>>, public consumer<In> {
 public:
  window_node(window_spec spec, duration lateness, aggregator<In, Acc, R> agg, serde<K> key_serde,
              std::string late_tag)
      : _spec(spec),
        _lateness(lateness.count()),
        _agg(std::move(agg)),
        _key_serde(std::move(key_serde)),
        _late_tag(std::move(late_tag)) {}

  void open(engine_context& c) override {
    this->ctx = &c;
    _ns = c.store->open(this->name);
    c.store->scan(_ns, {}, [&](std::string_view k, std::string_view) {
      auto e = parse_window_state_key(k);
      if (!e) {
        c.fail(error(errc::state_store_failed, "unreadable window state in " + this->name));
        return false;
      }
      _pending.emplace(e->window.end.value, std::string(e->key), e->window.start.value);
      return true;
    });
    _cache.open(c, _ns, &_agg.acc_serde, "window state of " + this->name);
  }

  void flush_state() override { _cache.flush(); }

  void push(const element<In>& e) override {
    const std::string key = e.key.value_or(std::string());
    bool accepted;
    if (_spec.what == window_spec::kind::session) {
      accepted = add_to_session(key, e);
    } else {
      accepted = false;
      for_each_window(_spec, e.timestamp, [&](const window& w) {
        if (cleanup_time(w) <= this->watermark) return;  // this window was dropped already
        accepted = true;
        add_to_window(key, w, e.value);
      });
      _cache.trim();
    }
    if (!accepted) {
      ++this->ctx->stats->late_records;
      if (_late_tag.empty() || !emit_side<In>(*this, _late_tag, e)) {
        ++this->ctx->stats->late_records_dropped;
      }
    }
  }

  void on_watermark(timestamp_ms wm) override {
    while (!_pending.empty() && std::get<0>(*_pending.begin()) - 1 <= wm.value) {
      auto [end, key, start] = *_pending.begin();
      _pending.erase(_pending.begin());
      window w{timestamp_ms(start), timestamp_ms(end)};
      set_state_key(key, w);
      if (auto* c = _cache.cached(_sk)) {
        fire(key, w, c->value);
      } else if (auto acc = _cache.load(_sk)) {
        fire(key, w, *acc);
      } else {
        continue;
      }
      if (cleanup_time(w) <= wm) {
        _cache.erase(_sk);
      } else {
        _retained.emplace(cleanup_time(w).value, key, start, end);
      }
    }
    while (!_retained.empty() && std::get<0>(*_retained.begin()) <= wm.value) {
      auto& [cleanup, key, start, end] = *_retained.begin();
      set_state_key(key, {timestamp_ms(start), timestamp_ms(end)});
      _cache.erase(_sk);
      _retained.erase(_retained.begin());
    }
  }

 private:
  timestamp_ms cleanup_time(const window& w) const {
    return add_saturating(w.max_timestamp(), _lateness);
  }

  // _sk = the state key of (key, w), reusing its buffer.
  void set_state_key(std::string_view key, const window& w) {
    _sk.clear();
    append_window_state_key(_sk, key, w);
  }

  void store_acc(const std::string& state_key, const Acc& acc) {
    this->ctx->store->put(_ns, state_key, _agg.acc_serde.serialize(acc));
  }

  // Indexes window w of `key` by whether it fired already (watermark past its end).
  void index(const std::string& key, const window& w) {
    if (w.max_timestamp() <= this->watermark) {
      _retained.emplace(cleanup_time(w).value, key, w.start.value, w.end.value);
    } else {
      _pending.emplace(w.end.value, key, w.start.value);
    }
  }
  void unindex(const std::string& key, const window& w) {
    _pending.erase({w.end.value, key, w.start.value});
    _retained.erase({cleanup_time(w).value, key, w.start.value, w.end.value});
  }

  void add_to_window(const std::string& key, const window& w, const In& v) {
    set_state_key(key, w);
    auto* c = _cache.find(_sk);
    bool fresh = !c;
    if (fresh) c = &_cache.insert(_sk, _agg.init());
    _agg.add(c->value, v);
    c->dirty = true;
    if (fresh) index(key, w);
    // Late but allowed: the window fired already, so its result is updated now.
    if (w.max_timestamp() <= this->watermark) fire(key, w, c->value);
  }

  bool add_to_session(const std::string& key, const element<In>& e) {
    if (add_saturating(e.timestamp, _lateness) <= this->watermark) return false;
    window merged{e.timestamp, add_saturating(e.timestamp, _spec.gap)};
    Acc acc = _agg.init();
    _agg.add(acc, e.value);
    // This key's sessions, in start order; the ones overlapping [t, t + gap) merge with it.
    std::vector<std::pair<window, std::string>> overlapping;
    const window proto = merged;
    this->ctx->store->scan(_ns, key_prefix(key), [&](std::string_view k, std::string_view v) {
      auto entry = parse_window_state_key(k);
      if (!entry) return true;
      if (entry->window.start >= proto.end) return false;
      if (proto.start < entry->window.end) overlapping.emplace_back(entry->window, v);
      return true;
    });
    for (auto& [w, bytes] : overlapping) {
      auto other = _agg.acc_serde.deserialize(bytes);
      if (!other) {
        this->ctx->fail(other.error().with_context("session state of " + this->name));
        return true;
      }
      _agg.merge(acc, *other);
      merged.start = std::min(merged.start, w.start);
      merged.end = std::max(merged.end, w.end);
      this->ctx->store->erase(_ns, window_state_key(key, w));
      unindex(key, w);
    }
    store_acc(window_state_key(key, merged), acc);
    index(key, merged);
    if (merged.max_timestamp() <= this->watermark) fire(key, merged, acc);
    return true;
  }

  void fire(const std::string& key, const window& w, const Acc& acc) {
    auto k = _key_serde.deserialize(key);
    if (!k) {
      this->ctx->fail(k.error().with_context("key of window state in " + this->name));
      return;
    }
    element<windowed<K, R>> out{
        windowed<K, R>{std::move(*k), w, _agg.result(acc)}, key, w.max_timestamp(), {}};
    this->emit(out);
  }

  window_spec _spec;
  int64_t _lateness;
  aggregator<In, Acc, R> _agg;
  serde<K> _key_serde;
  std::string _late_tag;
  state_store::namespace_id _ns = 0;
  state_cache<Acc> _cache;  // tumbling and hopping windows' accumulators
  std::string _sk;          // scratch: the state key being looked up
  // Windows that have not fired: (end, key, start).
  std::set<std::tuple<int64_t, std::string, int64_t>> _pending;
  // Fired windows kept for late records: (cleanup time, key, start, end).
  std::set<std::tuple<int64_t, std::string, int64_t, int64_t>> _retained;
};

}  // namespace spate::stream::detail
