#include "cli/message_format.h"

#include <nlohmann/json.hpp>

#include "client/errc.h"

namespace spate::cli {

result<message_format> message_format::parse(std::string_view spec) {
  message_format f;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) f._pieces.push_back({field::literal, std::move(lit)});
    lit.clear();
  };
  auto bad = [&](const std::string& why) {
    return spate::error(client::errc::invalid_argument, "--format: " + why);
  };
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c == '\\' && i + 1 < spec.size() &&
        (spec[i + 1] == 'n' || spec[i + 1] == 't' || spec[i + 1] == '\\')) {
      char n = spec[++i];
      lit += n == 'n' ? '\n' : n == 't' ? '\t' : '\\';
    } else if (c == '{' && i + 1 < spec.size() && spec[i + 1] == '{') {
      lit += '{';
      ++i;
    } else if (c == '}' && i + 1 < spec.size() && spec[i + 1] == '}') {
      lit += '}';
      ++i;
    } else if (c == '{') {
      auto close = spec.find('}', i);
      if (close == std::string_view::npos)
        return bad("unclosed '{' at position " + std::to_string(i));
      auto name = spec.substr(i + 1, close - i - 1);
      field fl;
      if (name == "topic")
        fl = field::topic;
      else if (name == "partition")
        fl = field::partition;
      else if (name == "offset")
        fl = field::offset;
      else if (name == "timestamp")
        fl = field::timestamp;
      else if (name == "key")
        fl = field::key;
      else if (name == "value")
        fl = field::value;
      else if (name == "headers")
        fl = field::headers;
      else {
        return bad("unknown placeholder {" + std::string(name) +
                   "}; known: {topic} {partition} {offset} {timestamp} {key} {value} {headers}");
      }
      flush();
      f._pieces.push_back({fl, {}});
      i = close;
    } else if (c == '}') {
      return bad("unmatched '}' at position " + std::to_string(i) + " (write }} for a brace)");
    } else {
      lit += c;
    }
  }
  flush();
  return f;
}

std::string message_format::render(const client::message& m) const {
  std::string out;
  for (auto& p : _pieces) {
    switch (p.f) {
      case field::literal:
        out += p.text;
        break;
      case field::topic:
        out += m.topic;
        break;
      case field::partition:
        out += std::to_string(m.partition.value);
        break;
      case field::offset:
        out += std::to_string(m.offset.value);
        break;
      case field::timestamp:
        out += std::to_string(m.timestamp.value);
        break;
      case field::key:
        out += m.key.value_or("");
        break;
      case field::value:
        out += m.value.value_or("");
        break;
      case field::headers:
        for (size_t i = 0; i < m.headers.size(); ++i) {
          if (i) out += ',';
          out += m.headers[i].key;
          if (m.headers[i].value) out += '=' + *m.headers[i].value;
        }
        break;
    }
  }
  return out;
}

std::string to_json(const client::message& m) {
  using json = nlohmann::ordered_json;
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  json headers = json::array();
  for (auto& h : m.headers) headers.push_back({{"key", h.key}, {"value", opt(h.value)}});
  const char* tstype = m.ts_type == client::timestamp_type::create_time       ? "create_time"
                       : m.ts_type == client::timestamp_type::log_append_time ? "log_append_time"
                                                                              : "none";
  json j = {{"topic", m.topic},
            {"partition", m.partition.value},
            {"offset", m.offset.value},
            {"timestamp", m.timestamp.value},
            {"timestamp_type", tstype},
            {"key", opt(m.key)},
            {"headers", std::move(headers)},
            {"value", opt(m.value)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace spate::cli
