// Shared by the stream tests: a small order event with JSON conversions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace spate::stream::testing {

struct order {
  std::string user_id;
  int64_t amount = 0;
  int64_t ts = 0;  // event time carried in the value (for extractor tests)
  bool operator==(const order&) const = default;
};

inline void to_json(nlohmann::json& j, const order& o) {
  j = nlohmann::json{{"user_id", o.user_id}, {"amount", o.amount}, {"ts", o.ts}};
}
inline void from_json(const nlohmann::json& j, order& o) {
  j.at("user_id").get_to(o.user_id);
  j.at("amount").get_to(o.amount);
  o.ts = j.value("ts", int64_t(0));
}

}  // namespace spate::stream::testing
