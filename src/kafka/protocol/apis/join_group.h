// JoinGroup (key 11). We advertise 0-5 (profile R, kafka-compat.md §5.2): librdkafka and
// kafkajs send 5, kafka-python 2. The minimum stays 0: librdkafka 2.0.2's balanced-consumer
// and GSSAPI feature flags need v0 in range (§1 rule 2; Kafka 4.0 had to re-add v0-v1).
// First flexible version: 6.
//
// By version: v1 adds rebalance_timeout_ms (v0 members use the session timeout instead); v2
// adds throttle_time_ms to the response; v3 only changes throttling; v4 only changes
// semantics (an empty member id gets MEMBER_ID_REQUIRED with a pending id; never for v0-v3,
// §10.3); v5 adds group_instance_id (static membership, KIP-345) to the request and to each
// member of the response; v6 is v5 made flexible. v7+ (protocol_type in the response, a
// nullable protocol_name, reason, skip_assignment) is not described.
//
// The protocol metadata bytes are opaque to the broker (§10.4): it stores and relays them.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct join_group_request {
  struct join_group_request_protocol {
    std::string name;       // the assignor, e.g. "range"
    kafka::bytes metadata;  // ConsumerProtocol Subscription, opaque to the broker
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(metadata, "metadata");
    }
  };
  std::string group_id;
  int32_t session_timeout_ms = 0;
  // v1+. -1 (absent in v0) means "use session_timeout_ms"; Kafka's placeholder default.
  int32_t rebalance_timeout_ms = -1;
  std::string member_id;                         // "" on the first join
  std::optional<std::string> group_instance_id;  // v5+; null: a dynamic member
  std::string protocol_type;                     // "consumer" for all our clients
  std::vector<join_group_request_protocol> protocols;
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(session_timeout_ms, "session_timeout_ms");
    v(rebalance_timeout_ms, "rebalance_timeout_ms", since(1));
    v(member_id, "member_id");
    v(group_instance_id, "group_instance_id", since(5));
    v(protocol_type, "protocol_type");
    v(protocols, "protocols");
  }
};

struct join_group_response {
  struct join_group_response_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    kafka::bytes metadata;
    template <class V>
    void describe(V& v) {
      v(member_id, "member_id");
      v(group_instance_id, "group_instance_id", since(5));
      v(metadata, "metadata");
    }
  };
  int32_t throttle_time_ms = 0;  // v2+
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string protocol_name;  // the protocol the coordinator selected
  std::string leader;         // the leader's member id
  std::string member_id;      // this member's id (also the pending id with MEMBER_ID_REQUIRED)
  // Every member with its metadata, for the leader only; followers get an empty list.
  std::vector<join_group_response_member> members;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(2));
    v(error_code, "error_code");
    v(generation_id, "generation_id");
    v(protocol_name, "protocol_name");
    v(leader, "leader");
    v(member_id, "member_id");
    v(members, "members");
  }
};

struct join_group_api {
  static constexpr api_key key = api_key::join_group;
  static constexpr const char* name = "JoinGroup";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 5;
  static constexpr int16_t first_flexible = 6;
  using request = join_group_request;
  using response = join_group_response;
};

}  // namespace spate::kafka
