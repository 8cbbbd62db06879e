#include "broker/broker.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <csignal>
#include <cstring>
#include <future>
#include <thread>

#include "base/clock.h"
#include "base/thread_name.h"
#include "broker/metrics_http.h"
#include "io/posix_filesystem.h"
#include "kafka/server/core_set.h"
#include "kafka/server/group_service.h"
#include "kafka/server/server.h"
#include "kafka/server/topic_manager.h"
#include "observe/log.h"
#include "observe/prometheus.h"
#include "storage/errc.h"
#include "storage/log_cleaner.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"

namespace spate::broker {
namespace {

// What /metrics serves: the process registry, then per-partition gauges read from each log
// on its owner core at scrape time. They are not registry series because a registry series
// lives for the whole process, and these must disappear with their topic.
asio::awaitable<std::string> render_metrics(kafka::topic_manager& topics, kafka::core_set& cores) {
  std::string out = observe::render_prometheus(observe::registry::global());
  observe::gauge_family end{"spate_partition_log_end_offset",
                            "Offset the next record appended to the partition gets (its high "
                            "watermark on this single node)",
                            {}};
  observe::gauge_family start{
      "spate_partition_log_start_offset", "First offset still in the partition's log", {}};
  observe::gauge_family size{
      "spate_partition_size_bytes", "Bytes of record batches in the partition's segments", {}};
  observe::gauge_family segments{"spate_partition_segments", "Segment files of the partition", {}};
  std::map<size_t, std::vector<std::shared_ptr<kafka::partition_state>>> by_owner;
  for (const auto& t : topics.all()) {
    for (const auto& p : t->partitions) by_owner[p->owner].push_back(p);
  }
  for (auto& [owner, group] : by_owner) {
    co_await cores.run_on(owner, [&, &g = group] {
      for (const auto& p : g) {
        observe::label_set labels{{"topic", p->tp.topic},
                                  {"partition", std::to_string(p->tp.partition.value)}};
        const auto& log = *p->log;
        end.series.emplace_back(labels, static_cast<double>(log.log_end().value));
        start.series.emplace_back(labels, static_cast<double>(log.log_start().value));
        size.series.emplace_back(labels, static_cast<double>(log.size_bytes()));
        segments.series.emplace_back(std::move(labels), static_cast<double>(log.segment_count()));
      }
    });
  }
  for (const auto* f : {&end, &start, &size, &segments}) observe::append_prometheus(out, *f);
  co_return out;
}

}  // namespace

size_t default_cores() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 1 ? hw - 1 : 1;
}

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
  // Fetch sends records with sendfile, which has no MSG_NOSIGNAL: writing to a connection the
  // client has closed would raise SIGPIPE and kill the broker. Ignored, the write fails with
  // EPIPE and only that connection closes.
  std::signal(SIGPIPE, SIG_IGN);
  // Each partition holds several descriptors (its segments, and two more for the active
  // segment so that two fdatasyncs can be in flight), plus one per connection: the usual soft
  // limit of 1024 would fail opens at a few hundred partitions. The hard limit is what the
  // administrator allows; raise the soft one to it, as a Kafka deployment's ulimit would.
  if (rlimit nofile{};
      getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    auto was = nofile.rlim_cur;
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) == 0) {
      log->info("open file limit raised from {} to {}", was, nofile.rlim_cur);
    } else {
      log->warn("open file limit stays at {}: {}", was, std::strerror(errno));
    }
  }
  // A page cache that grows with every byte written costs a host fault per page on VMs that
  // hand free memory back to their host, five times the cost of the write itself there
  // (storage/cache_trim.h); a bounded one is recycled. 1 GiB by default: B1 (8 partitions at
  // about 1 GB/s) gave 1046-1066 MB/s with 0.5-1 GiB, 728-894 with 3 GiB, 419 with no limit
  // (bench/RESULTS.md, session 9).
  uint64_t cache_budget = 0;
  if (config.page_cache_budget_mb > 0) {
    cache_budget = static_cast<uint64_t>(config.page_cache_budget_mb) << 20;
  } else if (config.page_cache_budget_mb < 0) {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) {
      cache_budget = std::min<uint64_t>(
          uint64_t{1} << 30, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 8);
    }
  }
  storage::partition_log::set_page_cache_budget(cache_budget);
  storage::append_ring::set_budget(config.append_ring_budget_mb << 20);
  log->info("page-cache budget of the logs: {} MiB{}", cache_budget >> 20,
            cache_budget == 0 ? " (no limit)" : "");
  io::posix_filesystem fs;
  storage::log_manager::options opts;
  opts.data_dir = config.data_dir;
  opts.defaults = config.log_defaults;
  // Recovery is mostly waiting for reads: more threads than cores keep the disk busy.
  opts.open_threads = 8;
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
  size_t n_cores = config.cores ? config.cores : default_cores();
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
  std::unique_ptr<metrics_http_server> metrics;
  if (config.metrics_port >= 0) {
    metrics_http_config mcfg;
    mcfg.host = config.metrics_host;
    mcfg.port = static_cast<uint16_t>(config.metrics_port);
    metrics = std::make_unique<metrics_http_server>(
        mcfg, cores.context(0), [&topics, &cores] { return render_metrics(topics, cores); });
    if (auto st = metrics->start(); !st) {
      srv.stop();
      cores.stop();
      return st;
    }
    log->info("metrics: Prometheus can scrape http://{}:{}/metrics", config.metrics_host,
              metrics->port());
  }
  log->info("ready: Kafka clients can connect to {}:{} ({} core(s))", config.listen_host,
            srv.port(), cores.size());
  if (on_ready) on_ready(srv.port());

  // The cleaner: one background thread for every compacted log (Kafka's default of one cleaner
  // thread). Each pass plans and swaps on the partition's owner core, briefly, and reads and
  // writes the segments here, so produce and fetch are not held up by the copying.
  std::atomic<bool> cleaner_stop{false};
  std::thread cleaner([&] {
    name_this_thread("spate-cleaner");
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
  auto next_ring_check = mono_clock::now() + config.append_ring_idle;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (config.append_ring_idle.count() > 0 && config.log_defaults.append_ring_bytes > 0 &&
        mono_clock::now() >= next_ring_check) {
      next_ring_check = mono_clock::now() + config.append_ring_idle;
      // On each owner core, without waiting: a partition that appended nothing since the
      // last round gives its ring back, so that the budget follows the busy partitions.
      for (const auto& t : topics.all()) {
        for (const auto& p : t->partitions) {
          asio::post(cores.context(p->owner), [p] {
            auto r = p->log->release_idle_ring();
            if (!r) {
              log->warn("{}: releasing an idle append ring: {}", p->tp.dir_name(),
                        r.error().message());
            } else if (*r) {
              log->debug("{}: idle append ring released", p->tp.dir_name());
            }
          });
        }
      }
    }
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
  if (metrics) metrics->stop();
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
