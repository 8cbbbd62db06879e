// log_cleaner: compaction of logs with cleanup.policy=compact (Kafka's log cleaner). A cleaning
// pass rewrites the closed segments of one log so that only the newest record of each key is
// left (plus tombstones younger than delete.retention.ms), keeping every surviving record's
// offset. What it writes and how the swap survives crashes: docs/formats/compaction.md.
//
// A pass has three steps, so that the long part never runs on the partition's owner core:
//   1. plan (owner thread, cheap): partition_log::plan_clean picks the segments, checks
//      min.cleanable.dirty.ratio and min.compaction.lag.ms, and hands out their open files;
//   2. run (any thread, the long part): clean_job::run reads those segments (immutable once
//      closed), builds the key -> newest offset map, writes and syncs one `.cleaned` file per
//      group of segments, and indexes it;
//   3. commit (owner thread, short): partition_log::commit_clean renames each `.cleaned` to a
//      `.swap` (the commit point), deletes the old files, renames the swap to `.log`, and puts
//      the new segment in place. Reads on the owner never see a half-done swap; fetches already
//      holding an old file keep reading it (it is unlinked, not truncated).
//
//   auto st = storage::clean_log(*log, wall_now(), [&](const std::function<void()>& f) {
//     run_on_owner_and_wait(f);
//   });
//
// Threading: a clean_job is made and committed on the log's owner thread and run on one other
// thread (the broker's cleaner thread) in between; nothing else touches it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace spate::storage {

class partition_log;

// What one pass did (also summed into storage_metrics).
struct cleaner_stats {
  size_t segments_read = 0;
  size_t segments_written = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t records_removed = 0;     // older values of a key, and records without a key
  uint64_t tombstones_removed = 0;  // null values older than delete.retention.ms
  uint64_t batches_emptied = 0;     // kept without records (a producer's last batch)
};

// How much memory the key map of one pass may use (Kafka's log.cleaner.dedupe.buffer.size is
// 128 MiB too). A pass whose dirty part has more distinct keys stops at the segment where the
// map filled up; the next pass goes on from there.
constexpr size_t default_key_map_bytes = size_t{128} << 20;

class clean_job {
 public:
  ~clean_job();  // removes `.cleaned` files that were not committed
  clean_job(const clean_job&) = delete;
  clean_job& operator=(const clean_job&) = delete;

  // The long part: reads the planned segments and writes the cleaned ones. On any error the
  // job's files are removed and the log is untouched (commit_clean is then not called).
  status run();
  const cleaner_stats& stats() const { return _stats; }
  // Before run(): the key map's memory budget (at least one segment is always mapped).
  void set_key_map_budget(size_t bytes) { _map_budget = bytes; }
  offset first_dirty() const { return _first_dirty; }
  offset end() const { return _end; }

 private:
  friend class partition_log;
  clean_job() = default;

  struct source {
    offset base;
    offset next;
    uint64_t size = 0;
    io::file_ptr file;
    const segment* seg = nullptr;  // identity only, compared on the owner thread at commit
  };
  struct group {
    std::vector<source> sources;
    std::string cleaned_path;
    io::file_ptr out;
    std::unique_ptr<segment> cleaned;
    bool changed = false;
    bool nothing_left = false;  // every record removed; merged into the next group
  };

  status build_key_map();
  status write_group(group& g, bool last_group);
  void remove_leftovers();

  io::filesystem* _fs = nullptr;
  std::string _dir;
  log_config _config;
  timestamp_ms _now;
  offset _first_dirty;
  offset _end;  // the first offset not cleaned (the first segment left alone)
  // Producer id -> base offset of its newest batch: that batch is kept, emptied if need be,
  // so the producer's sequence state survives a restart (Kafka does the same).
  std::unordered_map<int64_t, offset> _producer_last;
  std::unordered_map<std::string, offset> _newest;  // key -> offset of its newest record
  std::vector<group> _groups;
  size_t _map_budget = default_key_map_bytes;
  cleaner_stats _stats;
  bool _ran = false;
};

// Runs the function on the log's owner thread and returns once it has run.
using owner_runner = std::function<void(const std::function<void()>&)>;

// One pass over `log`: plan and commit through `on_owner`, the work on the calling thread.
// nullopt when there was nothing to do (not compacted, or not dirty enough). Failures are
// counted in spate_storage_cleaner_failures_total and leave the log as it was.
result<std::optional<cleaner_stats>> clean_log(partition_log& log, timestamp_ms now,
                                               const owner_runner& on_owner);

}  // namespace spate::storage
