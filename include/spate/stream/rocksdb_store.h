// A state store on RocksDB, for keyed state larger than memory: the same contract as the
// in-memory store (state_store.h), one column family per namespace, bytewise key order.
//
//   auto store = make_rocksdb_store({.path = "/var/lib/app/state/task-0"});
//   if (!store) return store.error();
//   auto eng = engine::create(std::move(t), {.store = std::move(*store)});
//
// The changelog is the durable copy, as in Kafka Streams: writes skip RocksDB's write-ahead
// log, and by default the folder is wiped on open, so the store holds exactly what restore()
// brings back from the changelog (a stale local copy can never mix with it). Keeping the folder
// across restarts needs the runtime to know which changelog offset it reflects; until then,
// `keep_existing` is for tools and tests.
//
// A RocksDB error makes the store failed (health()), and the engine stops at the end of the
// record that saw it. One thread at a time, like every store.
#pragma once

#include <filesystem>
#include <memory>

#include "base/result.h"
#include "spate/stream/state_store.h"

namespace spate::stream {

struct rocksdb_store_config {
  std::filesystem::path path;  // the store's own folder (created if missing)
  bool keep_existing = false;  // false: wipe the folder on open (state comes from the changelog)
  size_t block_cache_bytes = 64 << 20;
};

result<std::unique_ptr<state_store>> make_rocksdb_store(const rocksdb_store_config& config);

}  // namespace spate::stream
