// How `spate consume` prints a record: a --format template or one JSON object per line.
//
//   auto f = message_format::parse("{partition}:{offset} {key}\t{value}");
//   std::string line = f->render(msg);   // no trailing newline
//
// Placeholders: {topic} {partition} {offset} {timestamp} {key} {value} {headers}
// ({headers}: k=v pairs joined by ','). Escapes: \n \t \\ ; "{{" and "}}" are literal braces.
// A null key, value or header value prints as nothing (JSON keeps null).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "client/record.h"

namespace spate::cli {

inline constexpr std::string_view default_message_format =
    "partition={partition} offset={offset} timestamp={timestamp} key={key} headers={headers} "
    "value={value}";

class message_format {
 public:
  // invalid_argument naming the problem for an unknown placeholder or an unclosed brace.
  static result<message_format> parse(std::string_view spec);
  std::string render(const client::message& m) const;

 private:
  enum class field { literal, topic, partition, offset, timestamp, key, value, headers };
  struct piece {
    field f;
    std::string text;  // for literals
  };
  std::vector<piece> _pieces;
};

// {"topic":..,"partition":..,"offset":..,"timestamp":..,"timestamp_type":"create_time",
//  "key":..|null,"headers":[{"key":..,"value":..|null}],"value":..|null}. Bytes that are not
// UTF-8 are replaced by U+FFFD.
std::string to_json(const client::message& m);

}  // namespace spate::cli
