// order_totals: the pipeline of order_totals.h, run two ways.
//
// Against Kafka (a Spate broker or any Kafka cluster), as one instance of a scaled-out
// application; start it several times to share the work, stop it with SIGINT/SIGTERM:
//
//   order_totals --bootstrap 127.0.0.1:9092 [--application-id order-totals]
//                [--commit-interval-ms 5000] [--session-timeout-ms 10000]
//                [--keep-repartition-records] [--by-region] [--orders-keyed-by-user]
//
// --by-region runs build_by_region() instead: totals per region, from "orders" joined with
// the table "users", into "region-totals". --orders-keyed-by-user declares the orders topic
// keyed by user id with Kafka's default partitioner (murmur2): "by-user" keys in place
// (key_by_record_key) instead of repartitioning.
//
// In-process over orders read from stdin, one per line as "<timestamp-ms> <order JSON>",
// printing every record it writes as "<topic> <key> <value>":
//
//   printf '0 {"order_id":"o1","user_id":"u1","amount":500}\n' | order_totals --stdin
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <sstream>
#include <string>

#include "order_totals.h"
#include "spate/stream/application.h"

namespace {

spate::stream::application* running = nullptr;

extern "C" void on_signal(int) {
  if (running) running->stop();
}

int run_stdin() {
  auto t = order_totals::build();
  if (!t) {
    std::cerr << "order_totals: " << t.error().message() << "\n";
    return 1;
  }
  auto d = spate::stream::test_driver::create(std::move(*t));
  if (!d) {
    std::cerr << "order_totals: " << d.error().message() << "\n";
    return 1;
  }
  auto print = [&] {
    for (const char* topic :
         {order_totals::totals_topic, order_totals::late_topic, order_totals::dead_letter_topic}) {
      for (auto& r : d->read_raw(topic)) {
        std::cout << topic << " " << r.key.value_or("-") << " " << r.value.value_or("null") << "\n";
      }
    }
  };
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream in(line);
    int64_t ts = 0;
    if (!(in >> ts)) {
      std::cerr << "order_totals: line " << line_no << ": expected '<timestamp-ms> <json>'\n";
      return 1;
    }
    std::string json;
    std::getline(in >> std::ws, json);
    auto s = d->pipe_raw(order_totals::orders_topic, std::nullopt, json, spate::timestamp_ms(ts));
    if (!s) {
      std::cerr << "order_totals: line " << line_no << ": " << s.error().message() << "\n";
      return 1;
    }
    print();
  }
  if (auto s = d->end_of_input(); !s) {
    std::cerr << "order_totals: " << s.error().message() << "\n";
    return 1;
  }
  print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Total order amount per user per 5 minutes, from 'orders' to 'order-totals'"};
  bool from_stdin = false;
  std::string bootstrap;
  std::string app_id = "order-totals";
  int64_t commit_ms = 5000;
  int64_t session_ms = 10000;
  bool keep_repartition = false;
  bool by_region = false;
  bool keyed_by_user = false;
  cli.add_flag("--stdin", from_stdin, "Run in-process over '<timestamp-ms> <json>' lines");
  cli.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers (host:port,...)");
  cli.add_option("--application-id", app_id, "Consumer group and changelog prefix")
      ->capture_default_str();
  cli.add_option("--commit-interval-ms", commit_ms, "Checkpoint interval")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  cli.add_option("--session-timeout-ms", session_ms, "Group session timeout")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{300'000}));
  cli.add_flag("--keep-repartition-records", keep_repartition,
               "Do not delete consumed records from the repartition topic (to inspect it)");
  cli.add_flag("--by-region", by_region,
               "Total per region (orders joined with the table 'users') into 'region-totals'");
  cli.add_flag("--orders-keyed-by-user", keyed_by_user,
               "The orders are keyed by user id with murmur2: key in place, no repartition");
  CLI11_PARSE(cli, argc, argv);
  if (from_stdin) return run_stdin();
  if (bootstrap.empty()) {
    std::cerr << "order_totals: give --bootstrap host:port (or --stdin)\n";
    return 2;
  }

  spate::stream::application_config cfg;
  cfg.application_id = app_id;
  cfg.client.bootstrap = bootstrap;
  cfg.client.client_id = app_id;
  cfg.commit_interval = std::chrono::milliseconds(commit_ms);
  cfg.session_timeout = std::chrono::milliseconds(session_ms);
  cfg.purge_repartition_topics = !keep_repartition;
  auto app = spate::stream::application::create(
      [by_region, keyed_by_user] {
        return by_region ? order_totals::build_by_region(keyed_by_user)
                         : order_totals::build(keyed_by_user);
      },
      std::move(cfg));
  if (!app) {
    std::cerr << "order_totals: " << app.error().message() << "\n";
    return 1;
  }
  running = &*app;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto s = app->run();
  running = nullptr;
  if (!s) {
    std::cerr << "order_totals: " << s.error().message() << "\n";
    return 1;
  }
  return 0;
}
