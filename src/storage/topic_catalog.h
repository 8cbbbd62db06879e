// topic_catalog: the durable list of topics in a data folder — name, partition count and the
// topic's config overrides (Kafka topic-config names, as text) — so that a restart knows
// every topic, including ones whose partitions hold no data yet, and keeps what AlterConfigs
// set. Format: docs/formats/topic-catalog.md. Rewritten whole, atomically, on each change.
//
//   auto cat = topic_catalog::open(fs, "./data");
//   SPATE_TRY(cat->put({"orders", 6, {{"retention.ms", "3600000"}}}));
//
// Threading: internally locked; any thread may call it. Changes are rare (admin requests).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/file.h"
#include "storage/log_config.h"

namespace spate::storage {

struct topic_entry {
  std::string name;
  int32_t partitions = 1;
  std::map<std::string, std::string> configs;  // overrides only
};

class topic_catalog {
 public:
  static result<std::unique_ptr<topic_catalog>> open(io::filesystem& fs, const std::string& dir);

  std::optional<topic_entry> get(const std::string& name) const;
  std::vector<topic_entry> all() const;
  // Adds or replaces a topic, durably.
  status put(const topic_entry& entry);
  status erase(const std::string& name);

 private:
  topic_catalog(io::filesystem& fs, std::string path) : _fs(fs), _path(std::move(path)) {}
  status save_locked();

  io::filesystem& _fs;
  std::string _path;
  mutable std::mutex _mu;
  std::map<std::string, topic_entry> _topics;
};

// Applies Kafka topic-config overrides to a log_config. Unknown names and bad values are
// errors naming them (invalid_config), so AlterConfigs can reject them before storing.
status apply_topic_configs(const std::map<std::string, std::string>& configs, log_config& out);
// The topic-config names apply_topic_configs understands, with their values in `c`.
std::vector<std::pair<std::string, std::string>> describe_log_config(const log_config& c);

}  // namespace spate::storage
