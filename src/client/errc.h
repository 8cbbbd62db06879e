// Errors of the client module. Every failure a caller can expect comes back as a result<T>
// whose error says what happened and whether trying again may help.
//
// Two categories:
//  - `client` (errc below): what this module decides itself — a refused argument, no broker
//    reachable, a timeout, a missing topic, an API the broker does not implement, a fatal
//    client state.
//  - `rdkafka`: librdkafka's own codes (rd_kafka_resp_err_t: negative values are local to the
//    client, positive ones are Kafka protocol error codes). Their message carries librdkafka's
//    text, the code's name, and the classification, e.g.
//    "Broker: Unknown topic or partition [UNKNOWN_TOPIC_OR_PART, retriable]".
//
//   auto p = producer::connect(cfg);
//   if (!p) {
//     std::cerr << p.error().message();           // "cannot reach broker at ...: ..."
//     if (is_retriable(p.error())) { ... }       // e.g. retry later
//   }
#pragma once

#include <system_error>

#include "base/result.h"

namespace spate::client {

enum class errc {
  invalid_argument = 1,   // refused before anything was sent (bad setting, bad value)
  broker_unreachable,     // no bootstrap broker answered within the timeout
  timed_out,              // a broker answered before, but this operation did not finish in time
  unknown_topic,          // the topic does not exist
  topic_exists,           // creating a topic that already exists
  unsupported_by_broker,  // the broker does not implement the API this operation needs
  fatal,                  // librdkafka raised a fatal error; this client instance is unusable
  unknown_group,          // the consumer group does not exist
  group_not_empty,        // the operation needs a group with no active members
};

const std::error_category& client_category();
const std::error_category& rdkafka_category();

inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), client_category()};
}

// Whether the same operation may succeed if tried again (a broker restarting, a leader moving,
// a timeout). Errors of other modules are never retriable.
bool is_retriable(const error& e);

// Whether the client that produced `e` can no longer be used and must be recreated.
bool is_fatal(const error& e);

}  // namespace spate::client

template <>
struct std::is_error_code_enum<spate::client::errc> : std::true_type {};
