// The `spate` client subcommands, one file per group (topic_cmd.cc, produce_cmd.cc,
// consume_cmd.cc, cluster_cmd.cc, group_cmd.cc). Each add_* function declares its subcommands
// and flags on the CLI11 app and appends, per leaf subcommand, the function main() runs when
// that subcommand was given. They talk to the cluster only through the client module.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "client/config.h"

namespace spate::cli {

// Exit statuses of every subcommand.
constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  // the operation failed: broker unreachable, topic missing ...
constexpr int exit_usage = 2;   // bad flags or arguments

// A leaf subcommand and what runs it once the command line is parsed (returns the exit status).
struct command {
  CLI::App* app;
  std::function<int()> run;
};
using command_list = std::vector<command>;

// The flags every client subcommand shares: --bootstrap, --timeout-ms, -X/--property.
struct client_options {
  std::string bootstrap = "127.0.0.1:9092";
  int64_t timeout_ms = 10'000;
  std::vector<std::string> properties;  // k=v, raw librdkafka settings

  void add_to(CLI::App* cmd);
  // The client configuration, or an invalid_argument error for a malformed -X.
  result<client::client_config> config() const;
};

// "k=v" -> {k, v} (split at the first '='); `what` names the flag in the error.
result<std::pair<std::string, std::string>> parse_key_value(std::string_view s,
                                                            std::string_view what);

// Prints "spate <command>: <message>" on stderr and returns the exit status for it:
// exit_usage for an invalid argument, exit_failed otherwise.
int report(std::string_view command, const spate::error& e);

// Sets a flag when SIGINT or SIGTERM arrives (for commands that run until interrupted).
const std::atomic<bool>& stop_on_signal();

void add_topic_commands(CLI::App& app, command_list& out);
void add_produce_command(CLI::App& app, command_list& out);
void add_consume_command(CLI::App& app, command_list& out);
void add_cluster_commands(CLI::App& app, command_list& out);
void add_group_commands(CLI::App& app, command_list& out);

}  // namespace spate::cli
