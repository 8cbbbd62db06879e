// DeleteGroups (key 42). We advertise 0-1, every client's maximum (kafka-compat.md §4.4; not
// in the profile R table): librdkafka, kafkajs and kafka-python's admin client send 1. Only an
// Empty group can be deleted (NON_EMPTY_GROUP otherwise). First flexible version: 2.
//
// By version: v1 only changes throttling (respond first, then throttle); v2 is v1 made
// flexible.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct delete_groups_request {
  std::vector<std::string> groups_names;  // Kafka spells it "GroupsNames"
  template <class V>
  void describe(V& v) {
    v(groups_names, "groups_names");
  }
};

struct delete_groups_response {
  struct deletable_group_result {
    std::string group_id;
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(group_id, "group_id");
      v(error_code, "error_code");
    }
  };
  int32_t throttle_time_ms = 0;
  std::vector<deletable_group_result> results;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(results, "results");
  }
};

struct delete_groups_api {
  static constexpr api_key key = api_key::delete_groups;
  static constexpr const char* name = "DeleteGroups";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 2;
  using request = delete_groups_request;
  using response = delete_groups_response;
};

}  // namespace spate::kafka
