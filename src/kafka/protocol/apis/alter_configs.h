// AlterConfigs (key 33). We advertise 0-1: librdkafka 2.0.2 implements only v0 (so the
// minimum must be 0, kafka-compat.md §3.1), kafkajs and kafka-python's admin client send 1.
// v1 has the v0 layout (it only responds before throttling). First flexible version: 2.
//
// AlterConfigs replaces a resource's whole set of dynamic configs (keys not listed revert to
// their defaults); IncrementalAlterConfigs (key 44) is the per-key form.
// Resource types: 2 topic, 4 broker, 8 broker logger.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct alter_configs_request {
  struct alterable_config {
    std::string name;
    std::optional<std::string> value;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(value, "value");
    }
  };
  struct alter_configs_resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<alterable_config> configs;
    template <class V>
    void describe(V& v) {
      v(resource_type, "resource_type");
      v(resource_name, "resource_name");
      v(configs, "configs");
    }
  };
  std::vector<alter_configs_resource> resources;
  bool validate_only = false;
  template <class V>
  void describe(V& v) {
    v(resources, "resources");
    v(validate_only, "validate_only");
  }
};

struct alter_configs_response {
  struct alter_configs_resource_response {
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // null if there was no error
    int8_t resource_type = 0;
    std::string resource_name;
    template <class V>
    void describe(V& v) {
      v(error_code, "error_code");
      v(error_message, "error_message");
      v(resource_type, "resource_type");
      v(resource_name, "resource_name");
    }
  };
  int32_t throttle_time_ms = 0;
  std::vector<alter_configs_resource_response> responses;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(responses, "responses");
  }
};

struct alter_configs_api {
  static constexpr api_key key = api_key::alter_configs;
  static constexpr const char* name = "AlterConfigs";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 2;
  using request = alter_configs_request;
  using response = alter_configs_response;
};

}  // namespace spate::kafka
