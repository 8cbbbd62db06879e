// The in-memory state store: one std::map per namespace (ordered, for prefix scans), with
// heterogeneous lookup so reads by string_view do not allocate.
#include <algorithm>
#include <deque>
#include <map>

#include "spate/stream/state_store.h"

namespace spate::stream {

void change_capture::record(std::string_view store, std::string_view key,
                            std::optional<std::string_view> v) {
  if (!_enabled) return;
  per_store* ps = nullptr;
  for (auto& s : _stores) {
    if (s.name == store) {
      ps = &s;
      break;
    }
  }
  if (!ps) ps = &_stores.emplace_back(per_store{std::string(store), {}});
  if (auto it = ps->index.find(key); it != ps->index.end()) {
    // Changed again since the checkpoint: overwrite in place, reusing the string's buffer.
    auto& slot = _changes[it->second].value;
    if (!v) {
      slot.reset();
    } else if (slot) {
      slot->assign(*v);
    } else {
      slot.emplace(*v);
    }
    return;
  }
  ps->index.emplace(std::string(key), _changes.size());
  _changes.push_back(state_change{std::string(store), std::string(key),
                                  v ? std::optional<std::string>(std::string(*v)) : std::nullopt});
}

std::vector<state_change> change_capture::take() {
  for (auto& s : _stores) s.index.clear();  // keeps the buckets for the next interval
  return std::exchange(_changes, {});
}

namespace {

class memory_store final : public state_store {
 public:
  namespace_id open(std::string_view name) override {
    for (namespace_id i = 0; i < _spaces.size(); ++i) {
      if (_spaces[i].name == name) return i;
    }
    _spaces.push_back(space{std::string(name), {}});
    return static_cast<namespace_id>(_spaces.size() - 1);
  }

  std::optional<std::string> get(namespace_id ns, std::string_view key) override {
    auto& m = at(ns).entries;
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }

  void put(namespace_id ns, std::string_view key, std::string_view value) override {
    auto& s = at(ns);
    auto it = s.entries.find(key);
    if (it == s.entries.end()) {
      s.entries.emplace(std::string(key), std::string(value));
    } else {
      it->second.assign(value);
    }
    _capture.record(s.name, key, value);
  }

  void erase(namespace_id ns, std::string_view key) override {
    auto& s = at(ns);
    auto it = s.entries.find(key);
    if (it == s.entries.end()) return;
    // Recorded first: `key` may view the entry's own key (a scan's visitor erasing what it
    // was shown), which the erase frees.
    _capture.record(s.name, key, std::nullopt);
    s.entries.erase(it);
  }

  void scan_from(namespace_id ns, std::string_view prefix, std::string_view from,
                 const visitor& visit) override {
    auto& m = at(ns).entries;
    // The visitor may put or erase (a join drops what it matched): erasing the visited entry
    // would invalidate the iterator, so the next one is found again from a copy of the key,
    // as the RocksDB store's iterator also tolerates writes.
    std::string key;
    for (auto it = m.lower_bound(std::max(prefix, from)); it != m.end(); it = m.upper_bound(key)) {
      if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
      key = it->first;
      if (!visit(it->first, it->second)) break;
    }
  }

  std::vector<state_change> take_changes() override { return _capture.take(); }

  void restore(const state_change& c) override {
    auto& m = at(open(c.store)).entries;
    if (c.value) {
      m.insert_or_assign(c.key, *c.value);
    } else {
      m.erase(c.key);
    }
  }

  void set_capture(bool on) override { _capture.set_enabled(on); }

  std::vector<std::string> namespaces() const override {
    std::vector<std::string> out;
    for (auto& s : _spaces) out.push_back(s.name);
    return out;
  }

  status health() const override { return ok(); }

 private:
  struct space {
    std::string name;
    std::map<std::string, std::string, std::less<>> entries;
  };
  space& at(namespace_id ns) {
    SPATE_ASSERT(ns < _spaces.size());
    return _spaces[ns];
  }

  // Few namespaces (a handful per operator), looked up by id on the hot path. A deque, so
  // that a namespace opened by a scan's visitor (a join opening its other side lazily) does
  // not move the map being scanned; a vector did, and ASan caught the scan reading freed memory.
  std::deque<space> _spaces;
  change_capture _capture;
};

}  // namespace

std::unique_ptr<state_store> make_memory_store() {
  return std::make_unique<memory_store>();
}

}  // namespace spate::stream
