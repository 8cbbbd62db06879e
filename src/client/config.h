// client_config: how every client in this module finds and talks to the cluster.
//
// librdkafka retries a missing broker forever by default; a command-line tool or a test wants
// a clear failure instead, so `timeout` bounds connecting, metadata, admin requests and (for
// the producer, unless producer_config says otherwise) delivery.
//
//   client_config cfg;
//   cfg.bootstrap = "127.0.0.1:9092";
//   cfg.timeout = std::chrono::seconds(5);
//   cfg.properties.emplace_back("socket.keepalive.enable", "true");   // any librdkafka setting
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace spate::client {

struct client_config {
  // bootstrap.servers: comma-separated host:port list.
  std::string bootstrap = "127.0.0.1:9092";
  std::string client_id = "spate";
  // Upper bound for reaching a broker and for each request (socket.timeout.ms).
  std::chrono::milliseconds timeout{10'000};
  // Raw librdkafka settings (CONFIGURATION.md names), applied after ours so they win.
  std::vector<std::pair<std::string, std::string>> properties;
};

}  // namespace spate::client
