// What a handler gets besides its request: the server (config, topics, cores), the request
// header, and the executor of the connection's core (where the handler runs).
#pragma once

#include <asio/any_io_executor.hpp>

#include "kafka/protocol/api.h"

namespace spate::kafka {

class server;

struct request_context {
  server& srv;
  const request_header& header;
  asio::any_io_executor executor;
  // Set by a handler that must not be answered (Produce with acks=0).
  bool suppress_response = false;
  // Set by a handler whose failure must close the connection (acks=0 errors, as Kafka does).
  bool close_connection = false;
};

}  // namespace spate::kafka
