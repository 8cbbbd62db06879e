// ApiVersions (key 18). Versions 0-3; v3 is flexible, and its response still uses response
// header v0 (kafka-compat.md §7).
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct api_versions_request {
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+
  template <class V>
  void describe(V& v) {
    v(client_software_name, "client_software_name", since(3));
    v(client_software_version, "client_software_version", since(3));
  }
};

struct api_versions_response {
  struct api_version {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
    template <class V>
    void describe(V& v) {
      v(api_key, "api_key");
      v(min_version, "min_version");
      v(max_version, "max_version");
    }
  };
  int16_t error_code = 0;
  std::vector<api_version> api_keys;
  int32_t throttle_time_ms = 0;  // v1+
  template <class V>
  void describe(V& v) {
    v(error_code, "error_code");
    v(api_keys, "api_keys");
    v(throttle_time_ms, "throttle_time_ms", since(1));
  }
};

struct api_versions_api {
  static constexpr api_key key = api_key::api_versions;
  static constexpr const char* name = "ApiVersions";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 3;
  static constexpr int16_t first_flexible = 3;
  using request = api_versions_request;
  using response = api_versions_response;
};

}  // namespace spate::kafka
