#include "broker/broker.h"

#include <asio/post.hpp>
#include <future>
#include <thread>

#include "base/clock.h"
#include "io/posix_filesystem.h"
#include "kafka/server/core_set.h"
#include "kafka/server/group_service.h"
#include "kafka/server/server.h"
#include "kafka/server/topic_manager.h"
#include "observe/log.h"
#include "storage/errc.h"
#include "storage/log_cleaner.h"
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

status broker::run(const broker_config& config, const std::atomic<bool>& stop,
                   const std::function<void(uint16_t)>& on_ready) {
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

  auto catalog = storage::topic_catalog::open(fs, config.data_dir);
  if (!catalog) return catalog.error();
  auto pids = storage::producer_ids::open(fs, config.data_dir);
  if (!pids) return pids.error();
  size_t n_cores = config.cores ? config.cores : std::max(1u, std::thread::hardware_concurrency());
  kafka::core_set cores(n_cores);
  kafka::topic_manager topics(**lm, **catalog, config.log_defaults, cores.size());
  SPATE_TRY(topics.load());
  coordinator::group_coordinator::options group_opts;
  group_opts.initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms;
  kafka::group_service groups(group_opts);
  SPATE_TRY(groups.load(topics, config.offsets_segment_bytes));
  cores.start();
  groups.start(cores);
  kafka::server_config scfg;
  scfg.host = config.listen_host;
  scfg.port = static_cast<uint16_t>(config.listen_port);
  scfg.advertised_host = config.advertised_host;
  scfg.advertised_port = static_cast<uint16_t>(config.advertised_port);
  scfg.auto_create_topics = config.auto_create_topics;
  scfg.default_partitions = config.default_partitions;
  scfg.max_frame_bytes = config.max_frame_bytes;
  kafka::server srv(scfg, topics, cores, groups, **pids);
  if (auto st = srv.start(); !st) {
    cores.stop();
    return st;
  }
  log->info("ready: Kafka clients can connect to {}:{} ({} core(s))", config.listen_host,
            srv.port(), cores.size());
  if (on_ready) on_ready(srv.port());

  // The cleaner: one background thread for every compacted log (Kafka's default of one cleaner
  // thread). Each pass plans and swaps on the partition's owner core, briefly, and reads and
  // writes the segments here, so produce and fetch are not held up by the copying.
  std::atomic<bool> cleaner_stop{false};
  std::thread cleaner([&] {
    auto next = mono_clock::now() + config.cleaner_backoff;
    while (!stop.load() && !cleaner_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (mono_clock::now() < next) continue;
      for (const auto& t : topics.all()) {
        if (!t->config.cleanup_compact) continue;
        for (const auto& p : t->partitions) {
          if (stop.load() || cleaner_stop.load()) break;
          auto on_owner = [&](const std::function<void()>& f) {
            std::promise<void> done;
            asio::post(cores.context(p->owner), [&] {
              f();
              done.set_value();
            });
            done.get_future().wait();
          };
          auto r = storage::clean_log(*p->log, wall_now(), on_owner);
          if (!r) {
            if (r.error().code != make_error_code(storage::errc::log_closed)) {
              log->warn("{}: {}", p->tp.dir_name(), r.error().message());
            }
          } else if (*r && (*r)->segments_written > 0) {
            log->info(
                "{}: cleaned {} segment(s) into {}: {} -> {} bytes, {} record(s) and {} "
                "tombstone(s) removed",
                p->tp.dir_name(), (*r)->segments_read, (*r)->segments_written, (*r)->bytes_read,
                (*r)->bytes_written, (*r)->records_removed, (*r)->tombstones_removed);
          }
        }
      }
      // From the end of a pass, so a long pass is not followed at once by another.
      next = mono_clock::now() + config.cleaner_backoff;
    }
  });

  auto next_retention = mono_clock::now() + config.retention_check_interval;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (mono_clock::now() < next_retention) continue;
    next_retention = mono_clock::now() + config.retention_check_interval;
    // Each partition's retention runs on its owner core, like every other use of its log.
    for (const auto& t : topics.all()) {
      for (const auto& p : t->partitions) {
        std::promise<void> done;
        asio::post(cores.context(p->owner), [&, p] {
          auto r = p->log->apply_retention(wall_now());
          if (!r) {
            log->warn("{}: retention failed: {}", p->tp.dir_name(), r.error().message());
          } else if (r->segments_deleted > 0) {
            log->info("{}: retention deleted {} segment(s), {} bytes; log start offset {}",
                      p->tp.dir_name(), r->segments_deleted, r->bytes_deleted, r->log_start.value);
          }
          done.set_value();
        });
        done.get_future().wait();
      }
    }
  }
  // Before the cores stop: the cleaner may be waiting for one of them.
  cleaner_stop.store(true);
  cleaner.join();
  srv.stop();
  cores.stop();
  log->info("stopping: closing logs");
  auto closed = (*lm)->close();
  if (!closed) return closed;
  log->info("stopped cleanly");
  return ok();
}

}  // namespace spate::broker
