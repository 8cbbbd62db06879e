// Internal: a write-back cache of deserialized values in front of one state store namespace,
// for operators that read and rewrite the same keys record after record (window accumulators:
// each bid of Nexmark q5 updates five hopping windows).
//
// Without it every update is an ordered-map (or RocksDB) lookup, a deserialize, a serialize, a
// store write and a change capture. With it an update is a hash lookup on the live value; the
// store sees the value only when the cache writes it back:
//  - at flush(): the engine calls it before each checkpoint takes the store's changes, so the
//    changelog still receives every key's latest value before each checkpoint marker, and
//    state restored after a crash is what it was at that checkpoint;
//  - when an entry is evicted (the cache holds at most `capacity` entries between operations,
//    so a disk store still holds state larger than memory).
// A key created and erased between two write-backs never reaches the store: its latest state,
// "absent", is what the store (and so the changelog) already says.
//
// Eviction is a one-bit clock: each entry remembers whether it was used since the last sweep;
// a sweep writes back and drops the entries that were not, then, if that freed too little,
// any, until a quarter of the capacity is free (so sweeps, each O(capacity), are rare).
//
// Only the owning operator reads or writes its namespace: nothing else may see the store
// behind the cache's back (test readers go through engine::store(), which flushes first).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "spate/stream/detail/node.h"
#include "spate/stream/serde.h"

namespace spate::stream::detail {

template <class V>
class state_cache {
 public:
  struct entry {
    V value;
    bool dirty = false;   // changed since the store last saw it
    bool stored = false;  // the store holds some value for this key
    bool used = true;     // touched since the last sweep
  };

  // `what` names the state in errors ("window state of window-3").
  void open(engine_context& ctx, state_store::namespace_id ns, const serde<V>* value_serde,
            std::string what) {
    _ctx = &ctx;
    _ns = ns;
    _serde = value_serde;
    _what = std::move(what);
    _capacity = ctx.state_cache_entries;
  }

  // The cached entry of `key`, or null when it is not cached (it may still be in the store).
  entry* cached(std::string_view key) {
    auto it = _entries.find(key);
    if (it == _entries.end()) return nullptr;
    it->second.used = true;
    return &it->second;
  }

  // The value of `key` in the store, bypassing the cache (null: absent or unreadable; the
  // latter stops the engine).
  std::optional<V> load(std::string_view key) {
    auto bytes = _ctx->store->get(_ns, key);
    if (!bytes) return std::nullopt;
    auto v = _serde->deserialize(*bytes);
    if (!v) {
      _ctx->fail(v.error().with_context(_what));
      return std::nullopt;
    }
    return std::move(*v);
  }

  // The entry of `key`: cached, else loaded from the store and cached; null when the store
  // does not hold it either.
  entry* find(std::string_view key) {
    if (auto* e = cached(key)) return e;
    auto v = load(key);
    if (!v) return nullptr;
    return &add(key, std::move(*v), /*stored=*/true);
  }

  // Caches a new value for `key`, which neither the cache nor the store holds; it is dirty.
  entry& insert(std::string_view key, V value) {
    auto& e = add(key, std::move(value), /*stored=*/false);
    e.dirty = true;
    return e;
  }

  // Removes `key` from the cache and the store.
  void erase(std::string_view key) {
    auto it = _entries.find(key);
    if (it == _entries.end()) {
      _ctx->store->erase(_ns, key);
      return;
    }
    if (it->second.stored) _ctx->store->erase(_ns, key);
    _entries.erase(it);
  }

  // Writes every changed entry to the store; the entries stay cached.
  void flush() {
    for (auto& [k, e] : _entries) write_back(k, e);
  }

  // Called when an operation is done with the entries it used: evicts down to the capacity
  // (with capacity 0, every entry: the store always holds the current state).
  void trim() {
    if (_entries.size() <= _capacity) return;
    size_t target = _capacity - _capacity / 4;
    // Pass 1: entries unused since the last sweep go; the others lose their mark.
    for (auto it = _entries.begin(); it != _entries.end();) {
      if (!it->second.used && _entries.size() > target) {
        it = evict(it);
      } else {
        it->second.used = false;
        ++it;
      }
    }
    // Pass 2: still too many (all were in use): any, until the target.
    for (auto it = _entries.begin(); it != _entries.end() && _entries.size() > target;) {
      it = evict(it);
    }
  }

  size_t size() const { return _entries.size(); }

 private:
  // Lookups by string_view: a hit costs no allocation.
  struct view_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using map = std::unordered_map<std::string, entry, view_hash, std::equal_to<>>;

  entry& add(std::string_view key, V value, bool stored) {
    auto it = _entries.try_emplace(std::string(key), entry{std::move(value)}).first;
    it->second.stored = stored;
    return it->second;
  }

  void write_back(const std::string& key, entry& e) {
    if (!e.dirty) return;
    _ctx->store->put(_ns, key, _serde->serialize(e.value));
    e.dirty = false;
    e.stored = true;
  }

  typename map::iterator evict(typename map::iterator it) {
    write_back(it->first, it->second);
    return _entries.erase(it);
  }

  engine_context* _ctx = nullptr;
  state_store::namespace_id _ns = 0;
  const serde<V>* _serde = nullptr;
  std::string _what;
  size_t _capacity = 0;
  map _entries;
};

}  // namespace spate::stream::detail
