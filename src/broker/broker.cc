#include "broker/broker.h"

#include <thread>

#include "base/clock.h"
#include "io/posix_filesystem.h"
#include "observe/log.h"
#include "storage/log_manager.h"

namespace spate::broker {

status set_flush_policy(broker_config& config, const std::string& name) {
  auto policy = storage::parse_flush_policy(name);
  if (!policy) {
    return error(std::make_error_code(std::errc::invalid_argument),
                 "unknown flush policy '" + name + "' (always, interval or os)");
  }
  config.log_defaults.flush = *policy;
  return config.log_defaults.validate();
}

status broker::run(const broker_config& config, const std::atomic<bool>& stop) {
  static const auto log = observe::logger("broker");
  io::posix_filesystem fs;
  storage::log_manager::options opts;
  opts.data_dir = config.data_dir;
  opts.defaults = config.log_defaults;
  auto started = mono_clock::now();
  auto lm = storage::log_manager::open(fs, opts);
  if (!lm) return lm.error();
  auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(mono_clock::now() - started).count();

  uint64_t bytes = 0;
  uint64_t scanned = 0;
  uint64_t truncated = 0;
  size_t unclean = 0;
  for (const auto& r : (*lm)->recovery()) {
    bytes += r.size_bytes;
    scanned += r.bytes_scanned;
    truncated += r.truncated_bytes;
    if (!r.clean_shutdown) ++unclean;
    log->info("{}: offsets [{}, {}), {} segment(s), {} bytes, {}", r.dir, r.log_start.value,
              r.log_end.value, r.segments, r.size_bytes,
              r.clean_shutdown ? "clean shutdown" : "recovered after an unclean shutdown");
    for (const auto& note : r.notes) log->warn("{}: {}", r.dir, note);
  }
  log->info(
      "storage ready in {} ms: data folder {}, {} partition(s), {} bytes; {} recovered after an "
      "unclean shutdown ({} bytes scanned, {} bytes of torn tail cut)",
      elapsed_ms, config.data_dir, (*lm)->recovery().size(), bytes, unclean, scanned, truncated);
  log->info("the Kafka listener on {}:{} is not part of this build yet; storage only",
            config.listen_host, config.listen_port);

  auto next_retention = mono_clock::now() + config.retention_check_interval;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (mono_clock::now() < next_retention) continue;
    next_retention = mono_clock::now() + config.retention_check_interval;
    // One thread owns every log in this storage-only mode, so it may apply retention itself.
    for (const auto& tp : (*lm)->partitions()) {
      auto partition = (*lm)->get(tp);
      if (!partition) continue;
      auto r = (*partition)->apply_retention(wall_now());
      if (!r) {
        log->warn("{}: retention failed: {}", tp.dir_name(), r.error().message());
      } else if (r->segments_deleted > 0) {
        log->info("{}: retention deleted {} segment(s), {} bytes; log start offset {}",
                  tp.dir_name(), r->segments_deleted, r->bytes_deleted, r->log_start.value);
      }
    }
  }
  log->info("stopping: closing logs");
  auto closed = (*lm)->close();
  if (!closed) return closed;
  log->info("stopped cleanly");
  return ok();
}

}  // namespace spate::broker
