#include "spate/stream/watermark.h"

#include <algorithm>

namespace spate::stream {

void partition_watermarks::assign(partition_id p, timestamp_ms now) {
  _partitions.try_emplace(p, partition_state{min_time, now});
}

void partition_watermarks::observe(partition_id p, timestamp_ms t, timestamp_ms now) {
  auto& s = _partitions.try_emplace(p, partition_state{min_time, now}).first->second;
  s.max_seen = std::max(s.max_seen, t);
  s.last_active = now;
}

timestamp_ms partition_watermarks::current(timestamp_ms now) {
  std::optional<timestamp_ms> low;
  for (auto& [p, s] : _partitions) {
    if (_strategy.idle_timeout &&
        now.value - s.last_active.value >= _strategy.idle_timeout->count()) {
      continue;  // idle: left out until its next record
    }
    timestamp_ms w = s.max_seen == min_time
                         ? min_time
                         : add_saturating(s.max_seen, -_strategy.max_out_of_orderness.count() - 1);
    low = low ? std::min(*low, w) : w;
  }
  // No active partition: hold. Never go back.
  if (low && *low > _combined) _combined = *low;
  return _combined;
}

bool partition_watermarks::all_idle(timestamp_ms now) const {
  if (!_strategy.idle_timeout || _partitions.empty()) return false;
  for (auto& [p, s] : _partitions) {
    if (now.value - s.last_active.value < _strategy.idle_timeout->count()) return false;
  }
  return true;
}

}  // namespace spate::stream
