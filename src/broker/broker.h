// The composition root (row 5): configuration, wiring and lifecycle of one Spate process.
//
// Today it opens the storage engine on the data folder, reports what recovery found, applies
// retention on a timer and closes every log cleanly on SIGINT/SIGTERM. The Kafka listener
// (kafka/server) plugs in here when it lands.
//
//   broker_config cfg;
//   cfg.data_dir = "./data";
//   return broker::run(cfg, stop);   // returns after stop is requested
//
// Threading: run() owns the calling thread; the storage flusher has its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "base/result.h"
#include "storage/log_config.h"

namespace spate::broker {

struct broker_config {
  std::string data_dir = "./data";
  std::string listen_host = "127.0.0.1";
  int listen_port = 9092;
  storage::log_config log_defaults;
  std::chrono::milliseconds retention_check_interval{300'000};  // log.retention.check.interval.ms
};

// Sets the default flush policy from its name (always | interval | os).
status set_flush_policy(broker_config& config, const std::string& name);

class broker {
 public:
  // Runs until `stop` becomes true; returns the error that ended it early, if any.
  static status run(const broker_config& config, const std::atomic<bool>& stop);
};

}  // namespace spate::broker
