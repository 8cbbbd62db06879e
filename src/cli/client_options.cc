#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "client/errc.h"

namespace spate::cli {

void client_options::add_to(CLI::App* cmd) {
  cmd->add_option("--bootstrap,-b", bootstrap, "Broker(s) to connect to, host:port[,host:port]")
      ->capture_default_str();
  cmd->add_option("--timeout-ms", timeout_ms,
                  "Give up when no broker answers (or a request does not finish) within this")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{300'000}));
  cmd->add_option("--property,-X", properties,
                  "librdkafka setting k=v (repeatable), e.g. -X security.protocol=ssl");
}

result<client::client_config> client_options::config() const {
  client::client_config cfg;
  cfg.bootstrap = bootstrap;
  cfg.client_id = "spate-cli";
  cfg.timeout = std::chrono::milliseconds(timeout_ms);
  for (auto& p : properties) {
    auto kv = parse_key_value(p, "--property");
    if (!kv) return std::move(kv).error();
    cfg.properties.push_back(std::move(*kv));
  }
  return cfg;
}

result<std::pair<std::string, std::string>> parse_key_value(std::string_view s,
                                                            std::string_view what) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return spate::error(client::errc::invalid_argument,
                        std::string(what) + " wants key=value, not '" + std::string(s) + "'");
  }
  return std::pair{std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
}

int report(std::string_view command, const spate::error& e) {
  std::fprintf(stderr, "spate %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               e.message().c_str());
  return e.code == make_error_code(client::errc::invalid_argument) ? exit_usage : exit_failed;
}

namespace {
std::atomic<bool> stop_flag{false};
void on_stop_signal(int) {
  stop_flag.store(true);
}
}  // namespace

const std::atomic<bool>& stop_on_signal() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  return stop_flag;
}

}  // namespace spate::cli
