// Per-log settings, with Kafka's topic-config names in the comments so a user's knowledge
// carries over. Defaults serve a developer laptop and match Kafka's where Kafka has one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace spate::storage {

// When the log calls fdatasync on its own.
enum class flush_policy {
  // Every append is synced, group-committed: appends that arrive while a sync is in flight
  // share the next one. An append's durability completion fires after its sync.
  always,
  // Synced every flush_interval_ms; completions fire after the sync that covers them.
  interval,
  // Never synced by the log except on segment roll and close; completions fire at once and
  // say the data reached only the page cache.
  os,
};

std::optional<flush_policy> parse_flush_policy(const std::string& s);
const char* to_string(flush_policy p);

enum class timestamp_type { create_time, log_append_time };

struct log_config {
  uint64_t segment_bytes = 1ull << 30;            // segment.bytes
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;    // segment.ms
  int64_t retention_bytes = -1;                   // retention.bytes (-1: unlimited)
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;  // retention.ms (-1: unlimited)
  uint32_t index_interval_bytes = 4096;           // index.interval.bytes
  uint64_t max_batch_bytes = 1048588;             // message.max.bytes
  flush_policy flush = flush_policy::always;      // spate: flush.policy
  // spate, not a topic config: with `always`, the active segment is zero-filled this far
  // ahead of its appends (0: off), so that each fdatasync overwrites blocks already on disk
  // instead of extending the file (storage/zero_fill.h). Costs the disk every byte twice.
  uint64_t preallocate_bytes = 0;
  int64_t flush_interval_ms = 1000;  // flush.ms (for the interval policy)
  // spate, not a topic config (RocksDB's bytes_per_sync plays the same part): with `interval`,
  // the flusher starts the write-back of every this many new bytes of the active segment
  // without waiting for it (0: off), so that the timer's fdatasync finds little still to
  // write, and appends do not crawl behind a sync of a whole interval's data
  // (storage/flusher.h). Above the disk's rate it paces appends toward the disk's.
  uint64_t write_behind_bytes = 8ull << 20;
  // spate, not a topic config: under `os` and `interval`, a log that has appended this many
  // bytes since it was opened (or last gave its ring back, partition_log::release_idle_ring)
  // copies its appends into a ring of this size, mapped from a file
  // in its folder, and a thread of the flusher writes the ring into the segment in large
  // pieces (storage/append_ring.h; 0: off). All rings of the process share a budget.
  uint64_t append_ring_bytes = 4ull << 20;
  // How much a log appends after it was opened before it takes its ring (0: append_ring_bytes),
  // so that only busy logs hold one. Tests set it low to put small logs through the ring.
  uint64_t append_ring_after_bytes = 0;
  timestamp_type message_timestamp_type = timestamp_type::create_time;  // message.timestamp.type
  int64_t message_timestamp_difference_max_ms = INT64_MAX;  // message.timestamp.difference.max.ms
  // An idempotent producer's state is dropped this long after its newest batch's timestamp
  // (Kafka's broker-wide producer.id.expiration.ms, one day).
  int64_t producer_id_expiration_ms = 24ll * 3600 * 1000;
  // cleanup.policy: "delete" (retention by time and size), "compact" (the cleaner keeps the
  // newest record per key; storage/log_cleaner.h) or both, "compact,delete".
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  int64_t delete_retention_ms = 24ll * 3600 * 1000;  // delete.retention.ms (tombstones kept)
  double min_cleanable_dirty_ratio = 0.5;            // min.cleanable.dirty.ratio
  int64_t min_compaction_lag_ms = 0;                 // min.compaction.lag.ms

  // Rejects values that cannot work (a segment smaller than one batch, positions past 2 GiB).
  status validate() const;
};

}  // namespace spate::storage
