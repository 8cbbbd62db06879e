// The Kafka listener: accepts connections on the configured address, spreads them over the
// cores, and serves every API in kafka/protocol's registry that has a handler in handlers/.
//
//   kafka::server srv(cfg, topics, cores, groups, producer_ids);
//   SPATE_TRY(srv.start());     // listening
//   ...
//   srv.stop();
//
// Threading: start/stop from the owning thread; everything else runs on the core loops.
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <memory>
#include <string>

#include "base/result.h"
#include "kafka/server/core_set.h"
#include "kafka/server/group_service.h"
#include "kafka/server/topic_manager.h"
#include "storage/producer_ids.h"

namespace spate::kafka {

struct server_config {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;
  // What Metadata tells clients to connect to (defaults to host/port).
  std::string advertised_host;
  uint16_t advertised_port = 0;
  int32_t node_id = 0;
  std::string cluster_id = "spate-single-node";
  size_t max_frame_bytes = 100 * 1024 * 1024;  // socket.request.max.bytes
  // Per connection, before reading pauses. Requests, not bytes, so it must cover what a
  // producer sending one-record acks=all requests (linger.ms 0) has waiting on group commit:
  // rate x about two fdatasyncs, across its partitions. At 64 a slow shared disk (3 ms syncs)
  // stopped reading at 10 k msgs/s and the producer fell behind for good (bench/RESULTS.md,
  // B5); the byte cap below still bounds the memory.
  size_t max_in_flight_requests = 1024;
  size_t max_in_flight_bytes = 128 * 1024 * 1024;
  bool auto_create_topics = true;  // auto.create.topics.enable
  int32_t default_partitions = 1;  // num.partitions
};

class server {
 public:
  server(server_config cfg, topic_manager& topics, core_set& cores, group_service& groups,
         storage::producer_ids& producer_ids)
      : _cfg(std::move(cfg)),
        _topics(topics),
        _cores(cores),
        _groups(groups),
        _producer_ids(producer_ids) {}
  ~server();

  // Binds and starts accepting. The cores must be running.
  status start();
  void stop();
  uint16_t port() const { return _bound_port; }

  const server_config& config() const { return _cfg; }
  topic_manager& topics() { return _topics; }
  core_set& cores() { return _cores; }
  group_service& groups() { return _groups; }
  storage::producer_ids& producer_ids() { return _producer_ids; }

 private:
  asio::awaitable<void> accept_loop();

  server_config _cfg;
  topic_manager& _topics;
  core_set& _cores;
  group_service& _groups;
  storage::producer_ids& _producer_ids;
  std::unique_ptr<asio::ip::tcp::acceptor> _acceptor;
  uint16_t _bound_port = 0;
  std::atomic<size_t> _next_core{0};
};

}  // namespace spate::kafka
