// Serdes: how a pipeline turns Kafka's bytes into typed values and back, at sources, sinks,
// keys and state.
//
//   auto orders = b.source("orders", json_serde<order>());     // to_json/from_json of order
//   totals.to("totals", json_serde<windowed<std::string, int64_t>>());
//   auto raw = b.source("blobs", bytes_serde());               // std::string holding any bytes
//   auto mine = custom_serde<point>("point", encode_point, decode_point);
//
// Deserializing never throws: a bad input comes back as errc::deserialization_failed with what
// was wrong ("json: [json.exception.parse_error.101] ..."). A source decides what then happens
// to the record (source_options::on_error). Serializing cannot fail: JSON output replaces
// invalid UTF-8 rather than throwing.
//
// default_serde<T>() picks one where the choice is obvious and fails to compile otherwise:
// std::string as raw bytes, integers and floating point as decimal text (readable with kcat,
// exact round trip), any other type with nlohmann to_json/from_json as JSON.
#pragma once

#include <charconv>
#include <concepts>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "base/result.h"
#include "spate/stream/errc.h"
#include "spate/stream/types.h"

namespace spate::stream {

template <class T>
struct serde {
  std::string name;  // for error messages: "json<order>", "bytes", ...
  std::function<std::string(const T&)> serialize;
  std::function<result<T>(std::string_view)> deserialize;
};

// A type nlohmann-json can convert both ways (ADL to_json/from_json or built in).
template <class T>
concept json_convertible = std::default_initializable<T> &&
    requires(nlohmann::json& j, const T& t) {
  nlohmann::to_json(j, t);
} && requires(const nlohmann::json& j, T& t) {
  nlohmann::from_json(j, t);
};

namespace detail {
bool valid_utf8(std::string_view s);
error deserialization_error(std::string_view serde_name, std::string_view what);
}  // namespace detail

// Any bytes, as they are.
serde<std::string> bytes_serde();

// UTF-8 text; deserializing invalid UTF-8 is an error (use bytes_serde for arbitrary bytes).
serde<std::string> string_serde();

// Integers and floating point as decimal text ("42", "-1.5"): exact both ways.
template <class T>
requires std::is_arithmetic_v<T> serde<T> number_serde() {
  return serde<T>{"number",
                  [](const T& v) {
                    char buf[64];
                    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
                    return std::string(buf, end);
                  },
                  [](std::string_view s) -> result<T> {
                    T v{};
                    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
                    if (ec != std::errc() || end != s.data() + s.size()) {
                      return detail::deserialization_error("number", "not a decimal number");
                    }
                    return v;
                  }};
}

// JSON through nlohmann's to_json/from_json of T.
template <json_convertible T>
serde<T> json_serde() {
  return serde<T>{"json",
                  [](const T& v) {
                    nlohmann::json j = v;
                    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                  },
                  [](std::string_view s) -> result<T> {
                    // Parse without exceptions first: malformed input is the common bad case.
                    nlohmann::json j =
                        nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
                    if (j.is_discarded())
                      return detail::deserialization_error("json", "malformed JSON");
                    try {
                      return j.get<T>();
                    } catch (const nlohmann::json::exception& e) {
                      // Well-formed JSON of the wrong shape: a missing field, a string for a
                      // number.
                      return detail::deserialization_error("json", e.what());
                    }
                  }};
}

// A user-supplied pair of functions. `deserialize` returns an error for bad input (it may also
// throw; the exception's what() becomes the error).
template <class T>
serde<T> custom_serde(std::string name, std::function<std::string(const T&)> serialize,
                      std::function<result<T>(std::string_view)> deserialize) {
  auto de = [name, deserialize = std::move(deserialize)](std::string_view s) -> result<T> {
    try {
      return deserialize(s);
    } catch (const std::exception& e) {
      return detail::deserialization_error(name, e.what());
    }
  };
  return serde<T>{name, std::move(serialize), std::move(de)};
}

// A present value as '1' + its encoding, an absent one as the empty string. Used for
// accumulators that start empty (min, max, reduce).
template <class T>
serde<std::optional<T>> optional_serde(serde<T> inner) {
  auto name = "optional<" + inner.name + ">";
  return serde<std::optional<T>>{
      name,
      [inner](const std::optional<T>& v) { return v ? "1" + inner.serialize(*v) : std::string(); },
      [inner](std::string_view s) -> result<std::optional<T>> {
        if (s.empty()) return std::optional<T>();
        if (s[0] != '1') return detail::deserialization_error(inner.name, "bad optional marker");
        auto v = inner.deserialize(s.substr(1));
        if (!v) return std::move(v).error();
        return std::optional<T>(std::move(*v));
      }};
}

template <class T>
concept has_default_serde =
    std::same_as<T, std::string> || std::is_arithmetic_v<T> || json_convertible<T>;

template <class T>
serde<T> default_serde() {
  if constexpr (std::same_as<T, std::string>) {
    return bytes_serde();
  } else if constexpr (std::is_arithmetic_v<T> && !std::same_as<T, bool>) {
    return number_serde<T>();
  } else if constexpr (json_convertible<T>) {
    return json_serde<T>();
  } else {
    static_assert(has_default_serde<T>,
                  "no default serde for this type: give it to_json/from_json or pass a serde");
  }
}

// JSON for a window result: {"key":..., "start":ms, "end":ms, "value":...}.
template <class K, class R>
void to_json(nlohmann::json& j, const windowed<K, R>& w) {
  j = nlohmann::json{{"key", w.key},
                     {"start", w.window.start.value},
                     {"end", w.window.end.value},
                     {"value", w.value}};
}
template <class K, class R>
void from_json(const nlohmann::json& j, windowed<K, R>& w) {
  j.at("key").get_to(w.key);
  w.window.start = timestamp_ms(j.at("start").get<int64_t>());
  w.window.end = timestamp_ms(j.at("end").get<int64_t>());
  j.at("value").get_to(w.value);
}

}  // namespace spate::stream
