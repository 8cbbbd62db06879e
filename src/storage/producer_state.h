// producer_state: what one partition knows about the idempotent producers writing to it, so
// that a retried batch is not stored twice and a lost one is noticed (kafka-compat.md §11.1).
//
// For each producer id: its current epoch and the metadata of its last five batches (a
// producer has at most five requests in flight per partition, so a retry can only repeat one
// of those). An incoming batch is checked against it before anything is written:
//   - producer id -1: not idempotent, whatever the epoch and sequence fields say;
//   - a lower epoch than the producer's current one: fenced (invalid_producer_epoch);
//   - the same first and last sequence as a cached batch: a duplicate, answered with the
//     original offsets and not written again;
//   - otherwise the first sequence must follow the last one (wrapping at INT32_MAX), or be 0
//     for a new, higher epoch: anything else is a gap (out_of_order_sequence).
// A producer the partition has no state for (new, or removed by retention) may start at any
// sequence, as in Kafka: its earlier batches may simply be gone.
//
// The table is saved in a snapshot file when a segment rolls and when the log closes; after a
// restart the log loads the newest snapshot and replays the batch headers written after it
// (docs/formats/producer-snapshot.md). Owned by the partition's owner thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "storage/record_batch.h"

namespace spate::storage {

// One batch of an idempotent producer, as stored.
struct producer_batch {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  offset first_offset;
  offset last_offset;
  int64_t max_timestamp = -1;
};

struct producer_entry {
  int16_t epoch = -1;
  std::deque<producer_batch> batches;  // oldest first, at most max_cached_batches
  int64_t last_timestamp = -1;         // max timestamp of the newest batch (for expiry)
};

// The verdict on an incoming batch.
struct producer_check {
  // Set when the batch repeats one already stored: answer with these offsets, write nothing.
  std::optional<producer_batch> duplicate;
};

class producer_state {
 public:
  static constexpr size_t max_cached_batches = 5;

  // Checks an incoming batch (its header as validated; offsets not yet assigned).
  result<producer_check> check(const batch_header& h) const;
  // Records a batch that is now in the log (offsets assigned). No-op for producer id -1.
  void record(const batch_header& h);

  // Forgets producers whose newest batch lies wholly below `log_start`: their batches are
  // gone, so their next batch starts fresh (any sequence accepted).
  void remove_below(offset log_start);
  // Forgets producers that wrote nothing since `oldest_kept_ms` (Kafka's
  // producer.id.expiration.ms); entries without timestamps are kept.
  void expire(int64_t oldest_kept_ms);

  const std::map<int64_t, producer_entry>& entries() const { return _entries; }
  size_t size() const { return _entries.size(); }
  void clear() { _entries.clear(); }

  // The snapshot file's bytes for this state as of log offset `at` (format:
  // docs/formats/producer-snapshot.md), and back. `load` fails on a bad checksum, length or
  // version: the caller then falls back to an older snapshot or a replay from the log start.
  byte_buffer serialize(offset at) const;
  static result<producer_state> load(bytes_view bytes, offset expected_at);

 private:
  std::map<int64_t, producer_entry> _entries;
};

// The last sequence of a batch whose records are numbered from `first` (Kafka wraps sequences
// from INT32_MAX to 0).
int32_t last_sequence_of(int32_t first, int32_t last_offset_delta);

}  // namespace spate::storage
