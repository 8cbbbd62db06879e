// producer_ids: hands out producer ids to idempotent producers (InitProducerId), never the
// same one twice, across restarts and crashes.
//
// Ids are reserved in blocks: `<data>/producer_ids` holds the first id of the next block
// (docs/formats/data-folder.md), written atomically and synced before any id of the current
// block is handed out. A crash loses at most the unused rest of a block; an id is never reused,
// which matters because the partitions keep each id's sequence state (producer_state.h).
//
//   auto ids = producer_ids::open(fs, "./data");
//   auto pid = (*ids)->next();  // 0, 1, 2, ... then 1000, ... after a restart
//
// Thread-safe: InitProducerId arrives on any core.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "io/file.h"

namespace spate::storage {

class producer_ids {
 public:
  static constexpr int64_t block_size = 1000;

  // Reads the file (a missing one starts at 0; a corrupt one is corrupt_metadata: guessing
  // could hand out an id that partitions still hold state for).
  static result<std::unique_ptr<producer_ids>> open(io::filesystem& fs,
                                                    const std::string& data_dir);

  // The next unused id; fails only if the next block cannot be reserved on disk.
  result<int64_t> next();

 private:
  producer_ids(io::filesystem& fs, std::string path, int64_t start)
      : _fs(fs), _path(std::move(path)), _next(start), _limit(start) {}

  io::filesystem& _fs;
  std::string _path;
  std::mutex _mu;
  int64_t _next;   // the next id to hand out
  int64_t _limit;  // ids below this are reserved on disk
};

}  // namespace spate::storage
