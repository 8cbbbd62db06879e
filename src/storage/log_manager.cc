#include "storage/log_manager.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <thread>

#include "base/thread_name.h"
#include "storage/errc.h"

namespace spate::storage {
namespace {

// The data folder's lock file; layout in docs/formats/data-folder.md.
constexpr const char* lock_name = ".lock";

// "orders-3" -> {"orders", 3}. Topic names may contain '-', so the last one separates.
std::optional<topic_partition> parse_dir_name(const std::string& name) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::string topic = name.substr(0, dash);
  std::string digits = name.substr(dash + 1);
  // No leading zeros: "orders-07" must not alias "orders-7".
  if (!valid_topic_name(topic) || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return topic_partition{topic, partition_id(std::stoi(digits))};
}

}  // namespace

bool valid_topic_name(const std::string& topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

result<std::unique_ptr<log_manager>> log_manager::open(io::filesystem& fs, const options& opts) {
  SPATE_TRY(opts.defaults.validate());
  SPATE_TRY(fs.create_dirs(opts.data_dir));
  auto lock = fs.lock_file(opts.data_dir + "/" + lock_name);
  if (!lock) {
    return error(errc::folder_in_use, opts.data_dir + " (" + lock.error().message() + ")");
  }
  std::unique_ptr<log_manager> lm(new log_manager(fs, opts));
  lm->_lock = std::move(*lock);
  auto names = fs.list_dir(opts.data_dir);
  if (!names) return names.error();
  std::sort(names->begin(), names->end());
  struct opening {
    topic_partition tp;
    std::string dir;
    std::optional<result<std::unique_ptr<partition_log>>> log;
    log_recovery_report report;
  };
  std::vector<opening> work;
  for (auto& name : *names) {
    auto tp = parse_dir_name(name);
    if (!tp) continue;  // not ours (the lock file, an operator's notes)
    work.push_back({*tp, opts.data_dir + "/" + name, std::nullopt, {}});
  }
  // Each log's files and flusher target are its own, so logs open independently; the results
  // are taken in folder order below, whatever order the threads finished in.
  std::atomic<size_t> next{0};
  auto open_some = [&] {
    for (size_t i = next.fetch_add(1); i < work.size(); i = next.fetch_add(1)) {
      auto& w = work[i];
      try {
        w.log.emplace(partition_log::open(fs, w.dir, opts.defaults, lm->_flusher, &w.report));
      } catch (const std::exception& e) {
        // Escaping a worker thread would end the process; report it as this log's failure.
        w.log.emplace(errno_error(EIO, w.dir + ": opening the log threw: " + e.what()));
      } catch (...) {
        w.log.emplace(errno_error(EIO, w.dir + ": opening the log threw"));
      }
    }
  };
  size_t helpers = std::min(std::max<size_t>(opts.open_threads, 1), work.size());
  {
    // jthreads: joined on the way out even if starting one of them throws.
    std::vector<std::jthread> threads;
    for (size_t t = 1; t < helpers; ++t) {
      threads.emplace_back([&open_some] {
        name_this_thread("spate-open");
        open_some();
      });
    }
    open_some();
  }
  for (auto& w : work) {
    if (!*w.log) return w.log->error();
    lm->_logs.emplace(w.tp, std::shared_ptr<partition_log>(std::move(**w.log)));
    lm->_recovery.push_back(std::move(w.report));
  }
  // A partition folder created just before a crash may not have its directory entry on disk
  // yet, though the previous process acknowledged appends in it.
  SPATE_TRY(fs.sync_dir(opts.data_dir));
  return lm;
}

log_manager::~log_manager() {
  (void)close();
}

result<std::shared_ptr<partition_log>> log_manager::get(const topic_partition& tp) const {
  std::lock_guard lock(_mu);
  auto it = _logs.find(tp);
  if (it == _logs.end()) return error(errc::unknown_partition, tp.dir_name());
  return it->second;
}

result<std::shared_ptr<partition_log>> log_manager::get_or_create(const topic_partition& tp,
                                                                  const log_config* config) {
  if (!valid_topic_name(tp.topic) || tp.partition.value < 0) {
    return error(errc::unknown_partition, "invalid topic-partition " + tp.dir_name());
  }
  std::lock_guard lock(_mu);
  auto it = _logs.find(tp);
  if (it != _logs.end()) return it->second;
  auto log = partition_log::open(_fs, _opts.data_dir + "/" + tp.dir_name(),
                                 config ? *config : _opts.defaults, _flusher);
  if (!log) return log.error();
  SPATE_TRY(_fs.sync_dir(_opts.data_dir));
  auto shared = std::shared_ptr<partition_log>(std::move(*log));
  _logs.emplace(tp, shared);
  return shared;
}

status log_manager::remove(const topic_partition& tp) {
  std::shared_ptr<partition_log> log;
  {
    std::lock_guard lock(_mu);
    auto it = _logs.find(tp);
    if (it == _logs.end()) return error(errc::unknown_partition, tp.dir_name());
    log = it->second;
    _logs.erase(it);
  }
  (void)log->close();
  SPATE_TRY(_fs.remove_all(log->dir()));
  return _fs.sync_dir(_opts.data_dir);
}

std::vector<topic_partition> log_manager::partitions() const {
  std::lock_guard lock(_mu);
  std::vector<topic_partition> out;
  for (auto& [tp, log] : _logs) out.push_back(tp);
  return out;
}

status log_manager::close() {
  std::map<topic_partition, std::shared_ptr<partition_log>> logs;
  {
    std::lock_guard lock(_mu);
    logs.swap(_logs);
  }
  status first;
  for (auto& [tp, log] : logs) {
    auto st = log->close();
    if (!st && first) first = std::move(st).error().with_context(tp.dir_name());
  }
  return first;
}

}  // namespace spate::storage
