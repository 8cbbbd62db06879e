// log_manager: every partition log under one data folder. It holds the folder's lock (two
// processes never open the same folder), owns the group-commit flusher, opens all logs at
// start (recovering each as needed), and creates and deletes logs.
//
// Layout: <data>/<topic>-<partition>/ per log (docs/formats/data-folder.md).
//
//   log_manager::options opts{.data_dir = "./data"};
//   auto lm = log_manager::open(fs, opts);
//   for (auto& r : (*lm)->recovery()) print(r);
//   auto log = (*lm)->get_or_create({"orders", partition_id(0)});
//
// Threading: the map of logs is guarded by a mutex, so any thread may look logs up; each log
// itself is used only by its owner thread (partition_log.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"
#include "storage/flusher.h"
#include "storage/partition_log.h"

namespace spate::storage {

struct topic_partition {
  std::string topic;
  partition_id partition;
  auto operator<=>(const topic_partition&) const = default;
  std::string dir_name() const { return topic + "-" + std::to_string(partition.value); }
};

// Kafka's legal topic names: [a-zA-Z0-9._-], 1..249 characters, not "." or "..".
bool valid_topic_name(const std::string& topic);

class log_manager {
 public:
  struct options {
    std::string data_dir = "./data";
    log_config defaults;
    // How many logs are opened at once. Opening after an unclean shutdown reads each active
    // segment whole (partition.md), and one sequential reader leaves most of the disk's
    // bandwidth idle, so the broker opens several (B8 in bench/RESULTS.md). `fs` must then be
    // safe to call from several threads (posix_filesystem is).
    size_t open_threads = 1;
  };

  static result<std::unique_ptr<log_manager>> open(io::filesystem& fs, const options& opts);
  ~log_manager();

  // The log, or unknown_partition.
  result<std::shared_ptr<partition_log>> get(const topic_partition& tp) const;
  // The log, created with `config` (or the defaults) if it does not exist.
  result<std::shared_ptr<partition_log>> get_or_create(const topic_partition& tp,
                                                       const log_config* config = nullptr);
  // Closes the log and deletes its folder.
  status remove(const topic_partition& tp);
  std::vector<topic_partition> partitions() const;
  // What opening each log found, in folder order.
  const std::vector<log_recovery_report>& recovery() const { return _recovery; }
  flusher& flush_thread() { return _flusher; }

  // Closes every log cleanly (also done by the destructor).
  status close();

 private:
  log_manager(io::filesystem& fs, options opts) : _fs(fs), _opts(std::move(opts)) {}

  io::filesystem& _fs;
  options _opts;
  std::unique_ptr<io::dir_lock> _lock;
  flusher _flusher;
  mutable std::mutex _mu;
  std::map<topic_partition, std::shared_ptr<partition_log>> _logs;
  std::vector<log_recovery_report> _recovery;
};

}  // namespace spate::storage
