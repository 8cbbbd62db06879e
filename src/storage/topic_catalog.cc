#include "storage/topic_catalog.h"

#include <charconv>
#include <cstdio>

#include "base/be_cursor.h"
#include "base/crc32c.h"
#include "storage/errc.h"

namespace spate::storage {
namespace {

constexpr uint8_t magic[4] = {'S', 'P', 'T', 'C'};
constexpr uint16_t version = 1;
constexpr const char* file_name = "topics.catalog";

void put_string(byte_buffer& out, const std::string& s) {
  append_be<uint16_t>(out, static_cast<uint16_t>(s.size()));
  append_bytes(out, as_bytes(s));
}

// A uint16 length, then that many bytes.
std::string read_string(be_cursor& c) {
  auto n = c.num<uint16_t>();
  return std::string(as_string_view(c.take(n)));
}

result<int64_t> parse_int(const std::string& name, const std::string& value) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size()) {
    return error(errc::invalid_config, name + "=" + value + " is not an integer");
  }
  return v;
}

// Kafka shows the default as "0.5".
std::string ratio_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string cleanup_policy_text(const log_config& c) {
  if (c.cleanup_compact && c.cleanup_delete) return "compact,delete";
  return c.cleanup_compact ? "compact" : "delete";
}

}  // namespace

result<std::unique_ptr<topic_catalog>> topic_catalog::open(io::filesystem& fs,
                                                           const std::string& dir) {
  std::unique_ptr<topic_catalog> cat(new topic_catalog(fs, dir + "/" + file_name));
  auto exists = fs.exists(cat->_path);
  if (!exists) return exists.error();
  if (!*exists) return cat;
  auto content = io::read_whole_file(fs, cat->_path);
  if (!content) return content.error();
  bytes_view b = *content;
  if (b.size() < 12 || !std::equal(std::begin(magic), std::end(magic), b.begin()) ||
      crc32c::value(b.first(b.size() - 4)) != load_be<uint32_t>(b.data() + b.size() - 4)) {
    return error(errc::corrupt_metadata, cat->_path + ": bad magic or checksum");
  }
  be_cursor c{b.first(b.size() - 4), 4};
  if (c.num<uint16_t>() != version) {
    return error(errc::corrupt_metadata, cat->_path + ": unknown version");
  }
  uint32_t n = c.num<uint32_t>();
  for (uint32_t i = 0; i < n && c.ok; ++i) {
    topic_entry e;
    e.name = read_string(c);
    e.partitions = c.num<int32_t>();
    uint16_t configs = c.num<uint16_t>();
    for (uint16_t k = 0; k < configs && c.ok; ++k) {
      std::string key = read_string(c);
      e.configs[key] = read_string(c);
    }
    cat->_topics[e.name] = std::move(e);
  }
  if (!c.ok || c.pos != c.b.size()) {
    return error(errc::corrupt_metadata, cat->_path + ": truncated entries");
  }
  return cat;
}

std::optional<topic_entry> topic_catalog::get(const std::string& name) const {
  std::lock_guard lock(_mu);
  auto it = _topics.find(name);
  if (it == _topics.end()) return std::nullopt;
  return it->second;
}

std::vector<topic_entry> topic_catalog::all() const {
  std::lock_guard lock(_mu);
  std::vector<topic_entry> out;
  for (auto& [name, e] : _topics) out.push_back(e);
  return out;
}

status topic_catalog::put(const topic_entry& entry) {
  std::lock_guard lock(_mu);
  auto previous = _topics.find(entry.name) != _topics.end()
                      ? std::optional<topic_entry>(_topics[entry.name])
                      : std::nullopt;
  _topics[entry.name] = entry;
  auto st = save_locked();
  if (!st) {
    if (previous) {
      _topics[entry.name] = *previous;
    } else {
      _topics.erase(entry.name);
    }
  }
  return st;
}

status topic_catalog::erase(const std::string& name) {
  std::lock_guard lock(_mu);
  auto it = _topics.find(name);
  if (it == _topics.end()) return ok();
  topic_entry previous = it->second;
  _topics.erase(it);
  auto st = save_locked();
  if (!st) _topics[name] = previous;
  return st;
}

status topic_catalog::save_locked() {
  byte_buffer out(std::begin(magic), std::end(magic));
  append_be<uint16_t>(out, version);
  append_be<uint32_t>(out, static_cast<uint32_t>(_topics.size()));
  for (auto& [name, e] : _topics) {
    put_string(out, e.name);
    append_be<int32_t>(out, e.partitions);
    append_be<uint16_t>(out, static_cast<uint16_t>(e.configs.size()));
    for (auto& [k, v] : e.configs) {
      put_string(out, k);
      put_string(out, v);
    }
  }
  append_be<uint32_t>(out, crc32c::value(out));
  return io::write_file_atomically(_fs, _path, out);
}

status apply_topic_configs(const std::map<std::string, std::string>& configs, log_config& out) {
  log_config c = out;
  for (const auto& kv : configs) {
    // Named copies: lambdas may not capture structured bindings before C++20's fix (clang 14).
    const std::string& name = kv.first;
    const std::string& value = kv.second;
    auto number = [&name, &value](auto& field) -> status {
      auto v = parse_int(name, value);
      if (!v) return v.error();
      field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
      return ok();
    };
    if (name == "retention.ms") {
      SPATE_TRY(number(c.retention_ms));
    } else if (name == "retention.bytes") {
      SPATE_TRY(number(c.retention_bytes));
    } else if (name == "segment.bytes") {
      SPATE_TRY(number(c.segment_bytes));
    } else if (name == "segment.ms") {
      SPATE_TRY(number(c.segment_ms));
    } else if (name == "max.message.bytes") {
      SPATE_TRY(number(c.max_batch_bytes));
    } else if (name == "index.interval.bytes") {
      SPATE_TRY(number(c.index_interval_bytes));
    } else if (name == "flush.ms") {
      SPATE_TRY(number(c.flush_interval_ms));
    } else if (name == "message.timestamp.difference.max.ms") {
      SPATE_TRY(number(c.message_timestamp_difference_max_ms));
    } else if (name == "flush.policy") {
      auto p = parse_flush_policy(value);
      if (!p) return error(errc::invalid_config, "flush.policy=" + value + " (always|interval|os)");
      c.flush = *p;
    } else if (name == "message.timestamp.type") {
      if (value == "CreateTime") {
        c.message_timestamp_type = timestamp_type::create_time;
      } else if (value == "LogAppendTime") {
        c.message_timestamp_type = timestamp_type::log_append_time;
      } else {
        return error(errc::invalid_config, name + "=" + value);
      }
    } else if (name == "cleanup.policy") {
      // Kafka's list syntax: "delete", "compact", "compact,delete" (either order).
      bool del = false;
      bool compact = false;
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string item = value.substr(start, comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (item == "delete") {
          del = true;
        } else if (item == "compact") {
          compact = true;
        } else {
          return error(errc::invalid_config,
                       "cleanup.policy=" + value + " (delete, compact or compact,delete)");
        }
        start = comma + 1;
      }
      c.cleanup_delete = del;
      c.cleanup_compact = compact;
    } else if (name == "delete.retention.ms") {
      SPATE_TRY(number(c.delete_retention_ms));
    } else if (name == "min.compaction.lag.ms") {
      SPATE_TRY(number(c.min_compaction_lag_ms));
    } else if (name == "min.cleanable.dirty.ratio") {
      double v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return error(errc::invalid_config, name + "=" + value + " is not a number");
      }
      c.min_cleanable_dirty_ratio = v;
    } else {
      return error(errc::invalid_config, "unknown topic config " + name);
    }
  }
  SPATE_TRY(c.validate());
  out = c;
  return ok();
}

std::vector<std::pair<std::string, std::string>> describe_log_config(const log_config& c) {
  return {
      {"cleanup.policy", cleanup_policy_text(c)},
      {"delete.retention.ms", std::to_string(c.delete_retention_ms)},
      {"flush.ms", std::to_string(c.flush_interval_ms)},
      {"flush.policy", to_string(c.flush)},
      {"index.interval.bytes", std::to_string(c.index_interval_bytes)},
      {"max.message.bytes", std::to_string(c.max_batch_bytes)},
      {"message.timestamp.difference.max.ms",
       std::to_string(c.message_timestamp_difference_max_ms)},
      {"message.timestamp.type",
       c.message_timestamp_type == timestamp_type::create_time ? "CreateTime" : "LogAppendTime"},
      {"min.cleanable.dirty.ratio", ratio_text(c.min_cleanable_dirty_ratio)},
      {"min.compaction.lag.ms", std::to_string(c.min_compaction_lag_ms)},
      {"retention.bytes", std::to_string(c.retention_bytes)},
      {"retention.ms", std::to_string(c.retention_ms)},
      {"segment.bytes", std::to_string(c.segment_bytes)},
      {"segment.ms", std::to_string(c.segment_ms)},
  };
}

}  // namespace spate::storage
