// Event time progress of one source: a watermark per partition with bounded out-of-orderness,
// combined by taking the minimum over the partitions that are not idle.
//
// A watermark W says "no record with timestamp <= W is still expected". Each partition's is
// (largest timestamp seen) - max_out_of_orderness - 1, so a record up to max_out_of_orderness
// behind the newest one is still on time. The source's watermark is the minimum over its
// assigned partitions: a window closes only when every partition has moved past it. A
// partition assigned but not yet heard from holds the minimum at min_time.
//
// Idleness: a partition that has had no record for `idle_timeout` of wall-clock time (the
// runtime's clock, or the test driver's) is left out of the minimum until its next record, so a
// quiet partition does not stall every window. When every partition is idle the watermark holds
// where it is. The combined watermark never goes back, even when an idle partition wakes up
// behind it (its records may then be late).
//
//   partition_watermarks w({.max_out_of_orderness = 5s, .idle_timeout = 1min});
//   w.assign(partition_id(0), now);
//   w.observe(partition_id(0), record_time, now);
//   timestamp_ms wm = w.current(now);
//
// Owned by one source of one engine; single-threaded.
#pragma once

#include <map>
#include <optional>

#include "base/strong_id.h"
#include "spate/stream/types.h"

namespace spate::stream {

struct watermark_strategy {
  duration max_out_of_orderness{0};
  // Unset: a partition never counts as idle (the watermark waits for it).
  std::optional<duration> idle_timeout;
};

class partition_watermarks {
 public:
  explicit partition_watermarks(watermark_strategy s = {}) : _strategy(s) {}

  // A partition this source reads; it holds the watermark until it sends a record or idles.
  // Idempotent.
  void assign(partition_id p, timestamp_ms now);
  // A record with event time `t` arrived on `p` (assigning p if new).
  void observe(partition_id p, timestamp_ms t, timestamp_ms now);
  // The combined watermark as of wall-clock time `now`.
  timestamp_ms current(timestamp_ms now);
  // Every assigned partition idle as of `now` (false without an idle_timeout or a partition).
  bool all_idle(timestamp_ms now) const;

  const watermark_strategy& strategy() const { return _strategy; }

 private:
  struct partition_state {
    timestamp_ms max_seen = min_time;
    timestamp_ms last_active{0};  // wall clock of the last record (or the assignment)
  };
  watermark_strategy _strategy;
  std::map<partition_id, partition_state> _partitions;
  timestamp_ms _combined = min_time;
};

}  // namespace spate::stream
