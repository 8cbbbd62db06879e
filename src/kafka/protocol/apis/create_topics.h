// CreateTopics (key 19). We advertise 0-4 (profile R, kafka-compat.md §5.2): librdkafka sends
// 4, kafkajs and kafka-python's admin client 3. Clients send it to the controller, i.e. the
// Metadata controller_id. First flexible version: 5, so 0-4 is every non-flexible version
// and all of them are described here.
//
// By version: v1 adds validate_only to the request and error_message to each topic result;
// v2 adds throttle_time_ms to the response; v3 only changes throttling (respond first, then
// throttle); v4 only changes semantics (num_partitions and replication_factor may be -1
// without assignments, meaning the broker defaults; KIP-464).
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct create_topics_request {
  struct creatable_replica_assignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(broker_ids, "broker_ids");
    }
  };
  // Kafka spells this struct "CreateableTopicConfig"; the name follows it so a grep finds it.
  struct createable_topic_config {
    std::string name;
    std::optional<std::string> value;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(value, "value");
    }
  };
  struct creatable_topic {
    std::string name;
    // -1 (v4+, or with assignments): the broker's default / what the assignments imply.
    int32_t num_partitions = 0;
    int16_t replication_factor = 0;
    std::vector<creatable_replica_assignment> assignments;  // empty: automatic assignment
    std::vector<createable_topic_config> configs;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(num_partitions, "num_partitions");
      v(replication_factor, "replication_factor");
      v(assignments, "assignments");
      v(configs, "configs");
    }
  };
  std::vector<creatable_topic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+
  template <class V>
  void describe(V& v) {
    v(topics, "topics");
    v(timeout_ms, "timeout_ms");
    v(validate_only, "validate_only", since(1));
  }
};

struct create_topics_response {
  struct creatable_topic_result {
    std::string name;
    int16_t error_code = 0;
    // v1+. Kafka's default for a string without an explicit default is "" (not null), and
    // that is what a v0 response decodes to; a handler sets nullopt for "no error".
    std::optional<std::string> error_message = std::string();
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(error_code, "error_code");
      v(error_message, "error_message", since(1));
    }
  };
  int32_t throttle_time_ms = 0;  // v2+
  std::vector<creatable_topic_result> topics;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(2));
    v(topics, "topics");
  }
};

struct create_topics_api {
  static constexpr api_key key = api_key::create_topics;
  static constexpr const char* name = "CreateTopics";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;
  static constexpr int16_t first_flexible = 5;
  using request = create_topics_request;
  using response = create_topics_response;
};

}  // namespace spate::kafka
