#include "storage/log_config.h"

#include "storage/errc.h"

namespace spate::storage {

std::optional<flush_policy> parse_flush_policy(const std::string& s) {
  if (s == "always") return flush_policy::always;
  if (s == "interval") return flush_policy::interval;
  if (s == "os") return flush_policy::os;
  return std::nullopt;
}

const char* to_string(flush_policy p) {
  switch (p) {
    case flush_policy::always:
      return "always";
    case flush_policy::interval:
      return "interval";
    case flush_policy::os:
      return "os";
  }
  return "?";
}

status log_config::validate() const {
  // Index entries hold 32-bit positions, as Kafka's do.
  if (segment_bytes < 1024 || segment_bytes > (1ull << 31) - 1) {
    return error(errc::invalid_config, "segment.bytes must be in [1024, 2^31-1]");
  }
  if (max_batch_bytes < 61 || max_batch_bytes > (1ull << 30)) {
    return error(errc::invalid_config, "message.max.bytes must be in [61, 2^30]");
  }
  if (segment_ms <= 0) return error(errc::invalid_config, "segment.ms must be positive");
  if (retention_ms < -1 || retention_bytes < -1) {
    return error(errc::invalid_config, "retention.ms and retention.bytes must be >= -1");
  }
  if (flush_interval_ms <= 0) return error(errc::invalid_config, "flush.ms must be positive");
  if (!cleanup_delete && !cleanup_compact) {
    return error(errc::invalid_config, "cleanup.policy must name delete, compact or both");
  }
  if (delete_retention_ms < 0 || min_compaction_lag_ms < 0) {
    return error(errc::invalid_config,
                 "delete.retention.ms and min.compaction.lag.ms must be >= 0");
  }
  if (!(min_cleanable_dirty_ratio >= 0 && min_cleanable_dirty_ratio <= 1)) {
    return error(errc::invalid_config, "min.cleanable.dirty.ratio must be in [0, 1]");
  }
  if (append_ring_bytes != 0 &&
      (append_ring_bytes < (256u << 10) || append_ring_bytes > (1ull << 30))) {
    return error(errc::invalid_config, "the append ring must be 0 (off) or in [256 KiB, 1 GiB]");
  }
  if (index_interval_bytes == 0) {
    return error(errc::invalid_config, "index.interval.bytes must be positive");
  }
  return ok();
}

}  // namespace spate::storage
