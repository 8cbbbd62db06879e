// state_store: the keyed state of a pipeline's operators — window accumulators, process
// functions' value state, timers — as byte keys and values in named namespaces (one or more per
// operator, e.g. "window-3", "process-5/count", "process-5/timers").
//
// Every change is captured (at most one entry per namespace and key between two
// take_changes() calls, the latest), so that a runtime can write it to a compacted changelog
// topic at each checkpoint and rebuild the store from that topic with restore() after a restart
// or a move to another machine. A deletion is captured as a change without a value (a
// tombstone on the changelog).
//
//   auto store = make_memory_store();
//   auto ns = store->open("window-3");
//   store->put(ns, "k", "v");
//   for (auto& c : store->take_changes()) changelog.produce(c.store, c.key, c.value);
//
// Failures: the in-memory store cannot fail; a disk-backed one (RocksDB) can. A failure is
// sticky and reported by health(): reads after it return nothing, writes are dropped, and the
// engine stops with errc::state_store_failed at the end of the record that saw it. Recovery is a
// new store restored from the changelog. This keeps the per-record path free of error plumbing
// for a failure that no operator could handle anyway.
//
// One engine owns a store and uses it from its thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace spate::stream {

// One captured change: `value` unset means the key was deleted.
struct state_change {
  std::string store;  // the namespace's name
  std::string key;
  std::optional<std::string> value;
  bool operator==(const state_change&) const = default;
};

class state_store {
 public:
  using namespace_id = uint32_t;
  // Visits one entry; returns false to stop the scan.
  using visitor = std::function<bool(std::string_view key, std::string_view value)>;

  virtual ~state_store() = default;

  // The namespace called `name`, created empty if new. The same name gives the same id.
  virtual namespace_id open(std::string_view name) = 0;
  virtual std::optional<std::string> get(namespace_id ns, std::string_view key) = 0;
  virtual void put(namespace_id ns, std::string_view key, std::string_view value) = 0;
  virtual void erase(namespace_id ns, std::string_view key) = 0;
  // Entries whose key starts with `prefix`, in bytewise key order. The visitor must not change
  // the store.
  void scan(namespace_id ns, std::string_view prefix, const visitor& visit) {
    scan_from(ns, prefix, prefix, visit);
  }
  // The same, starting at the first key >= `from` (a time range within one key's entries).
  virtual void scan_from(namespace_id ns, std::string_view prefix, std::string_view from,
                         const visitor& visit) = 0;

  // Changes since the last call (or since the store was made), latest per key.
  virtual std::vector<state_change> take_changes() = 0;
  // Applies a change read back from a changelog, without capturing it again.
  virtual void restore(const state_change& change) = 0;
  // Turns change capture on or off (off: a store without a changelog, e.g. in a benchmark).
  virtual void set_capture(bool on) = 0;

  // The names of every namespace opened or restored so far.
  virtual std::vector<std::string> namespaces() const = 0;
  // ok, or the first I/O failure (sticky).
  virtual status health() const = 0;
};

// Keyed state in memory: ordered maps per namespace. Restored from the changelog on start.
std::unique_ptr<state_store> make_memory_store();

// The change capture a store implementation shares: the latest change per (namespace, key),
// in first-change order.
class change_capture {
 public:
  void record(std::string_view store, std::string_view key, std::optional<std::string_view> v);
  std::vector<state_change> take();
  void set_enabled(bool on) { _enabled = on; }
  bool enabled() const { return _enabled; }

 private:
  // Lookups by string_view: a key changed again before the checkpoint (the common case for
  // an aggregate) costs no allocation.
  struct view_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct per_store {
    std::string name;
    std::unordered_map<std::string, size_t, view_hash, std::equal_to<>> index;  // key -> slot
  };

  bool _enabled = true;
  std::vector<state_change> _changes;
  std::vector<per_store> _stores;  // a handful per pipeline: scanned, not hashed
};

}  // namespace spate::stream
