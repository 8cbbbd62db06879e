// The composition root (row 5): configuration, wiring and lifecycle of one Spate process.
//
// It opens the storage engine on the data folder and reports what recovery found, starts one
// event loop per core with the Kafka listener on them and the Prometheus endpoint on the first,
// applies retention on a timer, and on SIGINT/SIGTERM stops listening and closes every log
// cleanly.
//
//   broker_config cfg;
//   cfg.data_dir = "./data";
//   return broker::run(cfg, stop);   // returns after stop is requested
//
// Threading: run() owns the calling thread; the storage flusher has its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "base/result.h"
#include "storage/log_config.h"

namespace spate::broker {

struct broker_config {
  std::string data_dir = "./data";
  std::string listen_host = "127.0.0.1";
  int listen_port = 9092;
  std::string advertised_host;  // what Metadata tells clients (default: listen_host)
  int advertised_port = 0;      // default: the bound port
  size_t cores = 0;             // event loops; 0: default_cores()
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
  size_t max_frame_bytes = 100 * 1024 * 1024;
  int32_t group_initial_rebalance_delay_ms = 3000;
  // The Prometheus endpoint (GET /metrics). Port 0 binds an ephemeral port (logged, like the
  // Kafka port's 0); -1 disables the endpoint.
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 9644;  // group.initial.rebalance.delay.ms
  storage::log_config log_defaults;
  std::chrono::milliseconds retention_check_interval{300'000};  // log.retention.check.interval.ms
  // How long the cleaner waits between passes over the compacted logs (log.cleaner.backoff.ms).
  std::chrono::milliseconds cleaner_backoff{15'000};
  uint64_t offsets_segment_bytes = 100ull << 20;  // offsets.topic.segment.bytes
  // The page cache the logs keep of what they wrote (storage/cache_trim.h): -1, an eighth of
  // physical memory, at most 1 GiB; 0, no limit (everything the kernel keeps, as Kafka does).
  int64_t page_cache_budget_mb = -1;
  // What all partitions' append rings may map together (storage/append_ring.h).
  uint64_t append_ring_budget_mb = 32;
  // How often each partition is asked to give back an append ring it did not use since the
  // last time (partition_log::release_idle_ring): an idle ring is released after one to two
  // of these. 0: never.
  std::chrono::milliseconds append_ring_idle{10'000};
};

// The event loops of `cores = 0`: one per hardware thread but one, at least 1. The core left
// over runs what the loops cannot: the kernel's network receive work and writeback, the
// flusher's syncs, and the clients a developer runs on the same machine. On the 2-core bench
// machine, with clients beside it, one loop beat two on B1, B3, B4 and B5's p50 (bench/
// RESULTS.md, session 10: B3's consumer kept up, B4 p50 -30 %, B6 -15 %), since a request then
// crosses no core; B5's p99, B7 and 16 producers were a little lower.
size_t default_cores();

// Sets the default flush policy from its name (always | interval | os).
status set_flush_policy(broker_config& config, const std::string& name);

class broker {
 public:
  // Runs until `stop` becomes true; returns the error that ended it early, if any.
  // `on_ready` (optional) receives the bound port once clients can connect.
  static status run(const broker_config& config, const std::atomic<bool>& stop,
                    const std::function<void(uint16_t)>& on_ready = {});
};

}  // namespace spate::broker
