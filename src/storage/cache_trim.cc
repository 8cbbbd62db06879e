#include "storage/cache_trim.h"

#include <cerrno>
#include <utility>

#include "base/thread_name.h"
#include "storage/flusher.h"
#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {
// The largest folio the page cache uses (a PMD on x86-64).
constexpr uint64_t folio_max = 2 << 20;
}  // namespace

cache_trimmer::cache_trimmer()
    : _thread([this] {
        name_this_thread("spate-trim");
        run();
      }) {}

cache_trimmer::~cache_trimmer() {
  {
    std::lock_guard lock(_mu);
    _stop = true;
  }
  _cv.notify_all();
  _thread.join();
}

void cache_trimmer::post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to,
                         std::weak_ptr<sync_target> log) {
  if (to <= from) return;
  {
    std::lock_guard lock(_mu);
    if (!_jobs.empty()) {
      job& last = _jobs.back();
      if (last.fs == &fs && last.path == path && last.to == from) {
        last.to = to;
        return;
      }
    }
    _jobs.push_back({&fs, std::move(path), from, to, std::move(log)});
    ++_posted;
  }
  _cv.notify_one();
}

void cache_trimmer::drain() {
  std::unique_lock lock(_mu);
  uint64_t target = _posted;
  _done.wait(lock, [&] { return _finished >= target || _stop; });
}

void cache_trimmer::trim(const job& j) {
  auto& metrics = storage_metrics::get();
  auto f = j.fs->open(j.path, io::open_mode::read_only);
  if (!f) return;  // a file that is gone took its pages with it
  // The page cache evicts whole folios only, and keeps those that straddle the range's start
  // (up to 2 MiB) or its partial first page: the previous job of the file ended there.
  // Starting at a 2 MiB boundary takes them too; pages already evicted cost nothing.
  uint64_t from = j.from & ~(folio_max - 1);
  auto dropped = (*f)->drop_cache(from, j.to - from);
  if (dropped) {
    metrics.page_cache_dropped_bytes.inc(j.to - j.from);
    return;
  }
  metrics.page_cache_drop_failures.inc();
  if (!io::is_writeback_failure(dropped.error())) return;
  // This descriptor has taken the error, and Linux has marked it seen: the log must fail
  // here, as on a failed fdatasync, or data lost on the disk could later count as durable.
  if (auto t = j.log.lock()) {
    std::lock_guard lock(t->mu);
    if (!t->failed) {
      t->failed = std::move(dropped).error().with_context(
          "writing back log data behind the page-cache window");
    }
  }
}

void cache_trimmer::run() {
  std::unique_lock lock(_mu);
  for (;;) {
    _cv.wait(lock, [&] { return _stop || !_jobs.empty(); });
    if (_stop) return;  // jobs left are skipped: worth nothing to a process going away
    job j = std::move(_jobs.front());
    _jobs.pop_front();
    lock.unlock();
    trim(j);
    lock.lock();
    ++_finished;
    _done.notify_all();
  }
}

}  // namespace spate::storage
