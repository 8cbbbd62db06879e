// The RocksDB state store: one column family per namespace (namespaces come and go with the
// pipeline's shape, and a family keeps one operator's keys together for scans and compaction).
#include "spate/stream/rocksdb_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <system_error>

#include "spate/stream/errc.h"

namespace spate::stream {
namespace {

rocksdb::Slice slice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

class rocksdb_store final : public state_store {
 public:
  static result<std::unique_ptr<state_store>> open_store(const rocksdb_store_config& config) {
    std::error_code ec;
    if (!config.keep_existing) std::filesystem::remove_all(config.path, ec);
    std::filesystem::create_directories(config.path, ec);
    if (ec) {
      return error(errc::state_store_failed,
                   "cannot create " + config.path.string() + ": " + ec.message());
    }
    auto store = std::unique_ptr<rocksdb_store>(new rocksdb_store());
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(config.block_cache_bytes);
    store->_cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;

    std::vector<std::string> names;
    auto listed = rocksdb::DB::ListColumnFamilies(db_options, config.path.string(), &names);
    if (!listed.ok() || names.empty()) names = {rocksdb::kDefaultColumnFamilyName};
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (auto& n : names) families.emplace_back(n, store->_cf_options);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(db_options, config.path.string(), families, &handles, &db);
    if (!s.ok()) {
      return error(errc::state_store_failed,
                   "cannot open RocksDB at " + config.path.string() + ": " + s.ToString());
    }
    store->_db.reset(db);
    for (size_t i = 0; i < handles.size(); ++i) {
      if (names[i] == rocksdb::kDefaultColumnFamilyName) {
        store->_default.reset(handles[i]);
      } else {
        store->_spaces.push_back(
            space{names[i], std::unique_ptr<rocksdb::ColumnFamilyHandle>(handles[i])});
      }
    }
    store->_write.disableWAL = true;
    return std::unique_ptr<state_store>(std::move(store));
  }

  ~rocksdb_store() override {
    // Handles before the database they belong to.
    _spaces.clear();
    _default.reset();
    if (_db) _db->Close().PermitUncheckedError();
  }

  namespace_id open(std::string_view name) override {
    for (namespace_id i = 0; i < _spaces.size(); ++i) {
      if (_spaces[i].name == name) return i;
    }
    rocksdb::ColumnFamilyHandle* h = nullptr;
    auto s = _db->CreateColumnFamily(_cf_options, std::string(name), &h);
    if (!s.ok()) fail("creating namespace " + std::string(name), s);
    _spaces.push_back(space{std::string(name), std::unique_ptr<rocksdb::ColumnFamilyHandle>(h)});
    return static_cast<namespace_id>(_spaces.size() - 1);
  }

  std::optional<std::string> get(namespace_id ns, std::string_view key) override {
    auto* cf = family(ns);
    if (cf == nullptr) return std::nullopt;
    std::string v;
    auto s = _db->Get(_read, cf, slice(key), &v);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) {
      fail("get", s);
      return std::nullopt;
    }
    return v;
  }

  void put(namespace_id ns, std::string_view key, std::string_view value) override {
    auto* cf = family(ns);
    if (cf == nullptr) return;
    auto s = _db->Put(_write, cf, slice(key), slice(value));
    if (!s.ok()) return fail("put", s);
    _capture.record(_spaces[ns].name, key, value);
  }

  void erase(namespace_id ns, std::string_view key) override {
    auto* cf = family(ns);
    if (cf == nullptr) return;
    // Only a key that exists becomes a tombstone (the same changes as the in-memory store).
    std::string ignored;
    auto found = _db->Get(_read, cf, slice(key), &ignored);
    if (found.IsNotFound()) return;
    if (!found.ok()) return fail("get", found);
    auto s = _db->Delete(_write, cf, slice(key));
    if (!s.ok()) return fail("delete", s);
    _capture.record(_spaces[ns].name, key, std::nullopt);
  }

  void scan_from(namespace_id ns, std::string_view prefix, std::string_view from,
                 const visitor& visit) override {
    auto* cf = family(ns);
    if (cf == nullptr) return;
    std::unique_ptr<rocksdb::Iterator> it(_db->NewIterator(_read, cf));
    for (it->Seek(slice(std::max(prefix, from))); it->Valid(); it->Next()) {
      auto k = it->key();
      std::string_view key(k.data(), k.size());
      if (key.substr(0, prefix.size()) != prefix) break;
      auto v = it->value();
      if (!visit(key, std::string_view(v.data(), v.size()))) break;
    }
    if (auto s = it->status(); !s.ok()) fail("scan", s);
  }

  std::vector<state_change> take_changes() override { return _capture.take(); }

  void restore(const state_change& c) override {
    auto* cf = family(open(c.store));
    if (cf == nullptr) return;
    auto s = c.value ? _db->Put(_write, cf, slice(c.key), slice(*c.value))
                     : _db->Delete(_write, cf, slice(c.key));
    if (!s.ok()) fail("restore", s);
  }

  void set_capture(bool on) override { _capture.set_enabled(on); }

  std::vector<std::string> namespaces() const override {
    std::vector<std::string> out;
    for (auto& s : _spaces) out.push_back(s.name);
    return out;
  }

  status health() const override {
    if (_failure) return *_failure;
    return ok();
  }

 private:
  rocksdb_store() = default;

  struct space {
    std::string name;
    std::unique_ptr<rocksdb::ColumnFamilyHandle> handle;
  };

  // nullptr once failed: after an I/O error nothing more is read or written.
  rocksdb::ColumnFamilyHandle* family(namespace_id ns) {
    SPATE_ASSERT(ns < _spaces.size());
    if (_failure) return nullptr;
    return _spaces[ns].handle.get();
  }

  void fail(const std::string& what, const rocksdb::Status& s) {
    if (!_failure)
      _failure = error(errc::state_store_failed, "rocksdb " + what + ": " + s.ToString());
  }

  std::unique_ptr<rocksdb::DB> _db;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> _default;
  rocksdb::ColumnFamilyOptions _cf_options;
  rocksdb::ReadOptions _read;
  rocksdb::WriteOptions _write;
  std::vector<space> _spaces;
  change_capture _capture;
  std::optional<error> _failure;
};

}  // namespace

result<std::unique_ptr<state_store>> make_rocksdb_store(const rocksdb_store_config& config) {
  return rocksdb_store::open_store(config);
}

}  // namespace spate::stream
