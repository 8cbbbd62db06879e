// DescribeConfigs (key 32). We advertise 0-1 (profile R): librdkafka sends 1, kafkajs and
// kafka-python's admin client min(2, our max). First flexible version: 4; every
// non-flexible version (0-3) is described, so raising the maximum to 3 is one line.
//
// By version: v1 adds include_synonyms to the request and, per config, config_source
// (replacing v0's is_default) and synonyms. v2 has the v1 layout (it only responds before
// throttling). v3 adds include_documentation, and per config config_type and documentation.
//
// Resource types: 2 topic, 4 broker, 8 broker logger. Config sources: 0 unknown, 1 topic, 2
// dynamic broker, 3 dynamic default broker, 4 static broker, 5 default, 6 dynamic broker
// logger.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct describe_configs_request {
  struct describe_configs_resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null: every key
    template <class V>
    void describe(V& v) {
      v(resource_type, "resource_type");
      v(resource_name, "resource_name");
      v(configuration_keys, "configuration_keys");
    }
  };
  std::vector<describe_configs_resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
  template <class V>
  void describe(V& v) {
    v(resources, "resources");
    v(include_synonyms, "include_synonyms", since(1));
    v(include_documentation, "include_documentation", since(3));
  }
};

struct describe_configs_response {
  struct describe_configs_synonym {
    std::string name;
    std::optional<std::string> value;
    int8_t source = 0;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(value, "value");
      v(source, "source");
    }
  };
  struct describe_configs_resource_result {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;  // v0 only; v1+ says it with config_source
    // v1+. Kafka's placeholder default; what a v0 config "means" depends on the resource.
    int8_t config_source = -1;
    bool is_sensitive = false;
    std::vector<describe_configs_synonym> synonyms;  // v1+
    int8_t config_type = 0;                          // v3+ (0: unknown)
    // v3+. Kafka's default for a string without an explicit default is "" (not null).
    std::optional<std::string> documentation = std::string();
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(value, "value");
      v(read_only, "read_only");
      v(is_default, "is_default", until(0));
      v(config_source, "config_source", since(1));
      v(is_sensitive, "is_sensitive");
      v(synonyms, "synonyms", since(1));
      v(config_type, "config_type", since(3));
      v(documentation, "documentation", since(3));
    }
  };
  struct describe_configs_result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // null if there was no error
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<describe_configs_resource_result> configs;
    template <class V>
    void describe(V& v) {
      v(error_code, "error_code");
      v(error_message, "error_message");
      v(resource_type, "resource_type");
      v(resource_name, "resource_name");
      v(configs, "configs");
    }
  };
  int32_t throttle_time_ms = 0;
  std::vector<describe_configs_result> results;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(results, "results");
  }
};

struct describe_configs_api {
  static constexpr api_key key = api_key::describe_configs;
  static constexpr const char* name = "DescribeConfigs";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 4;
  using request = describe_configs_request;
  using response = describe_configs_response;
};

}  // namespace spate::kafka
