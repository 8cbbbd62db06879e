// ListGroups (key 16). We advertise 0-4: kafkajs and kafka-python's admin client send 2,
// librdkafka's legacy rd_kafka_list_groups() 0, and librdkafka's Admin API (2.0.2) sends the
// highest of 0-4 we advertise, so 4, with a states filter when the caller gives one
// (rd_kafka_AdminOptions_set_match_consumer_group_states). First flexible version: 3.
//
// By version: the v0-v2 request is empty; v1 adds throttle_time_ms to the response; v2 only
// changes throttling; v3 is v2 made flexible; v4 adds states_filter to the request (a plain
// field, not a tagged one: empty means every state) and group_state to each listed group.
// v5 (types_filter, group_type) is not described.
//
// librdkafka 2.0.2 ends its v3/v4 request with a second empty tag buffer: one extra 0x00 byte
// after the body (seen on the wire: `01 00 00` for an empty filter). Kafka does not check for
// trailing bytes, so it goes unnoticed there; we accept exactly that (trailing zero bytes,
// each an empty tag buffer) for this API only, and reject any other trailing bytes.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct list_groups_request {
  std::vector<std::string> states_filter;  // v4+: state names; empty lists every group
  template <class V>
  void describe(V& v) {
    v(states_filter, "states_filter", since(4));
  }
};

struct list_groups_response {
  struct listed_group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;  // v4+: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
    template <class V>
    void describe(V& v) {
      v(group_id, "group_id");
      v(protocol_type, "protocol_type");
      v(group_state, "group_state", since(4));
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<listed_group> groups;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
    v(groups, "groups");
  }
};

struct list_groups_api {
  static constexpr api_key key = api_key::list_groups;
  static constexpr const char* name = "ListGroups";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;
  static constexpr int16_t first_flexible = 3;
  static constexpr bool accepts_extra_tag_buffers = true;  // librdkafka 2.0.2, see above
  using request = list_groups_request;
  using response = list_groups_response;
};

}  // namespace spate::kafka
