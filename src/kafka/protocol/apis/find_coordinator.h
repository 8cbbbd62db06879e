// FindCoordinator (key 10). We advertise 0-2 (profile R, kafka-compat.md §5.2): librdkafka
// and kafkajs send 2, kafka-python (consumer and admin) 0. librdkafka 2.0.2 turns off its
// group-coordinator and LZ4 features unless v0 is in range (§1 rule 2), so the minimum stays
// 0. On a single node the answer is this broker's own node id, host and port (§10.6).
// First flexible version: 3.
//
// By version: v1 adds key_type to the request (0 group, 1 transaction; v0 can only look up
// groups) and throttle_time_ms and error_message to the response; v2 only changes throttling
// (respond first, then throttle); v3 is v2 made flexible. v4 (batched coordinator_keys and a
// coordinators array) is not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct find_coordinator_request {
  std::string key;      // the group id, or the transactional id when key_type is 1
  int8_t key_type = 0;  // v1+
  template <class V>
  void describe(V& v) {
    v(key, "key", until(3));
    v(key_type, "key_type", since(1));
  }
};

struct find_coordinator_response {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  // v1+. Kafka's default for a nullable string without an explicit default is "" (not null),
  // and that is what a v0 response decodes to; a handler sets nullopt for "no error".
  std::optional<std::string> error_message = std::string();
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
    v(error_message, "error_message", since(1));
    v(node_id, "node_id");
    v(host, "host");
    v(port, "port");
  }
};

struct find_coordinator_api {
  static constexpr api_key key = api_key::find_coordinator;
  static constexpr const char* name = "FindCoordinator";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 2;
  static constexpr int16_t first_flexible = 3;
  using request = find_coordinator_request;
  using response = find_coordinator_response;
};

}  // namespace spate::kafka
