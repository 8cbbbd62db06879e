// The `spate` command. Subcommands are thin: parse flags (CLI11), call a module, print a clear
// message and exit non-zero on failure.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "broker/broker.h"
#include "observe/log.h"

namespace {

std::atomic<bool> stop_requested{false};

void on_signal(int) {
  stop_requested.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Spate: a real-time event platform in one binary"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();

  spate::broker::broker_config cfg;
  std::string flush = "always";
  int64_t retention_check_ms = 300000;
  auto* broker_cmd = app.add_subcommand("broker", "Run the broker on a data folder");
  broker_cmd->add_option("--data-dir", cfg.data_dir, "Data folder")->capture_default_str();
  broker_cmd->add_option("--host", cfg.listen_host, "Listen address")->capture_default_str();
  broker_cmd->add_option("--port", cfg.listen_port, "Listen port")->capture_default_str();
  broker_cmd
      ->add_option("--flush-policy", flush,
                   "always (fdatasync per append, group commit) | interval | os")
      ->capture_default_str();
  broker_cmd->add_option("--segment-bytes", cfg.log_defaults.segment_bytes, "Default segment.bytes")
      ->capture_default_str();
  broker_cmd
      ->add_option("--retention-ms", cfg.log_defaults.retention_ms,
                   "Default retention.ms (-1: unlimited)")
      ->capture_default_str();
  broker_cmd
      ->add_option("--retention-bytes", cfg.log_defaults.retention_bytes,
                   "Default retention.bytes (-1: unlimited)")
      ->capture_default_str();

  broker_cmd->add_option("--advertised-host", cfg.advertised_host,
                         "Host that Metadata tells clients to connect to");
  broker_cmd->add_option("--cores", cfg.cores, "Event loops (0: one per hardware thread)")
      ->capture_default_str();
  broker_cmd
      ->add_option("--auto-create-topics", cfg.auto_create_topics,
                   "Create unknown topics on Metadata requests")
      ->capture_default_str();
  broker_cmd
      ->add_option("--num-partitions", cfg.default_partitions, "Partitions of auto-created topics")
      ->capture_default_str();
  broker_cmd
      ->add_option("--max-request-bytes", cfg.max_frame_bytes,
                   "Largest request frame accepted (socket.request.max.bytes)")
      ->capture_default_str();
  broker_cmd
      ->add_option("--retention-check-ms", retention_check_ms,
                   "How often retention runs (log.retention.check.interval.ms)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  cfg.retention_check_interval = std::chrono::milliseconds(retention_check_ms);

  if (auto s = spate::observe::set_log_level(log_level); !s) {
    std::fprintf(stderr, "spate: %s\n", s.error().message().c_str());
    return 2;
  }
  if (broker_cmd->parsed()) {
    if (auto s = spate::broker::set_flush_policy(cfg, flush); !s) {
      std::fprintf(stderr, "spate: %s\n", s.error().message().c_str());
      return 2;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto st = spate::broker::broker::run(cfg, stop_requested);
    if (!st) {
      std::fprintf(stderr, "spate broker: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  return 0;
}
