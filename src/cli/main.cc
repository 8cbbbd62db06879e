// The `spate` command. Subcommands are thin: parse flags (CLI11), call a module, print a clear
// message and exit non-zero on failure (1: the operation failed; 2: bad flags or arguments).
// `spate broker` is here; the client subcommands (topic, produce, consume, cluster) live in
// one file per group, see commands.h.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "broker/broker.h"
#include "cli/commands.h"
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
  // Subcommands inherit this: `spate topic list --log-level debug` works as well.
  app.fallthrough();
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "trace|debug|info|warn|error|off (default: info for the broker, error for "
                 "client commands, whose failures are reported as their result)");

  spate::broker::broker_config cfg;
  std::string flush = "always";
  int64_t retention_check_ms = 300000;
  auto* broker_cmd = app.add_subcommand("broker", "Run the broker on a data folder");
  // Every flag below may also come from a file: `spate broker --config spate.toml`, whose
  // [broker] section holds lines like `port = 9092` or `flush-policy = "interval"` (flags on
  // the command line win). The option lives on the app; fallthrough lets it follow `broker`.
  app.set_config("--config", "", "Read settings from a TOML or INI file ([broker] section)");
  broker_cmd->fallthrough();
  broker_cmd->add_option("--data-dir", cfg.data_dir, "Data folder")->capture_default_str();
  broker_cmd->add_option("--host", cfg.listen_host, "Listen address")->capture_default_str();
  broker_cmd->add_option("--port", cfg.listen_port, "Listen port")->capture_default_str();
  broker_cmd
      ->add_option("--flush-policy", flush,
                   "always (fdatasync per append, group commit) | interval | os")
      ->capture_default_str();
  broker_cmd
      ->add_option("--flush-ms", cfg.log_defaults.flush_interval_ms,
                   "Default flush.ms: the sync period under --flush-policy interval")
      ->check(CLI::Range(int64_t{1}, INT64_MAX))
      ->capture_default_str();
  broker_cmd
      ->add_option("--write-behind-bytes", cfg.log_defaults.write_behind_bytes,
                   "Under --flush-policy interval, start writing each active segment back to "
                   "disk every this many new bytes, without waiting (0: off), so that the "
                   "timer's fdatasync has little left to write and appends do not stall behind it")
      ->capture_default_str();
  broker_cmd
      ->add_option("--append-ring-bytes", cfg.log_defaults.append_ring_bytes,
                   "Under --flush-policy os or interval, a partition that has taken this many "
                   "bytes since it was opened copies its appends into a ring of this size in its "
                   "folder (append.ring), written into the segment in large pieces by a "
                   "background thread (0: off; not while --page-cache-budget-mb is set)")
      ->capture_default_str();
  broker_cmd->add_option("--segment-bytes", cfg.log_defaults.segment_bytes, "Default segment.bytes")
      ->capture_default_str();
  broker_cmd
      ->add_option("--preallocate-bytes", cfg.log_defaults.preallocate_bytes,
                   "Under --flush-policy always, zero-fill each active segment this far ahead "
                   "of its appends (0: off), so that an fdatasync overwrites blocks already on "
                   "disk instead of growing the file; every byte then reaches the disk twice")
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
  broker_cmd
      ->add_option("--advertised-port", cfg.advertised_port,
                   "Port that Metadata tells clients to connect to (0: the bound port), e.g. "
                   "behind a proxy")
      ->check(CLI::Range(0, 65535));
  broker_cmd
      ->add_option("--cores", cfg.cores,
                   "Event loops (0: one per hardware thread but one, at least 1)")
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
      ->add_option("--group-initial-rebalance-delay-ms", cfg.group_initial_rebalance_delay_ms,
                   "How long a new group waits for more members before its first rebalance")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  int64_t cleaner_backoff_ms = 15'000;
  broker_cmd
      ->add_option("--cleaner-backoff-ms", cleaner_backoff_ms,
                   "Pause between passes of the log cleaner over compacted topics "
                   "(log.cleaner.backoff.ms)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  broker_cmd
      ->add_option("--offsets-segment-bytes", cfg.offsets_segment_bytes,
                   "segment.bytes of __consumer_offsets (offsets.topic.segment.bytes)")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{(1ull << 31) - 1}))
      ->capture_default_str();
  broker_cmd
      ->add_option("--page-cache-budget-mb", cfg.page_cache_budget_mb,
                   "Page cache the logs keep of what they wrote, shared by all partitions: "
                   "older data is evicted once written back, as new data comes (-1: an eighth "
                   "of physical memory, at most 1 GiB; 0: no limit)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40))
      ->capture_default_str();
  broker_cmd
      ->add_option("--append-ring-budget-mb", cfg.append_ring_budget_mb,
                   "What the append rings of all partitions may map together "
                   "(--append-ring-bytes each); past it, partitions append directly")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20))
      ->capture_default_str();
  int64_t append_ring_idle_ms = 10'000;
  broker_cmd
      ->add_option("--append-ring-idle-ms", append_ring_idle_ms,
                   "A partition that appended nothing for one to two of these gives its "
                   "append ring back to the budget (0: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}))
      ->capture_default_str();
  broker_cmd
      ->add_option("--metrics-port", cfg.metrics_port,
                   "Port of the Prometheus endpoint (GET /metrics); 0: an ephemeral port, "
                   "logged at start; -1: no endpoint")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  broker_cmd
      ->add_option("--metrics-host", cfg.metrics_host, "Listen address of the Prometheus endpoint")
      ->capture_default_str();
  broker_cmd
      ->add_option("--retention-check-ms", retention_check_ms,
                   "How often retention runs (log.retention.check.interval.ms)")
      ->capture_default_str();

  spate::cli::command_list commands;
  spate::cli::add_topic_commands(app, commands);
  spate::cli::add_produce_command(app, commands);
  spate::cli::add_consume_command(app, commands);
  spate::cli::add_cluster_commands(app, commands);
  spate::cli::add_group_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error with a hint
    return rc == 0 ? 0 : spate::cli::exit_usage;
  }
  cfg.retention_check_interval = std::chrono::milliseconds(retention_check_ms);
  cfg.cleaner_backoff = std::chrono::milliseconds(cleaner_backoff_ms);
  cfg.append_ring_idle = std::chrono::milliseconds(append_ring_idle_ms);

  if (log_level.empty()) log_level = broker_cmd->parsed() ? "info" : "error";
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
    return 0;
  }
  for (auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return 0;
}
