#include "storage/cache_trim.h"

#include <utility>

#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {
constexpr uint64_t folio_max = 2 << 20;
}  // namespace

cache_trimmer::cache_trimmer() : _thread([this] { run(); }) {}

cache_trimmer::~cache_trimmer() {
  {
    std::lock_guard lock(_mu);
    _stop = true;
  }
  _cv.notify_all();
  _thread.join();
}

void cache_trimmer::post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to) {
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
    _jobs.push_back({&fs, std::move(path), from, to});
    ++_posted;
  }
  _cv.notify_one();
}

void cache_trimmer::drain() {
  std::unique_lock lock(_mu);
  uint64_t target = _posted;
  _done.wait(lock, [&] { return _finished >= target; });
}

void cache_trimmer::run() {
  auto& metrics = storage_metrics::get();
  std::unique_lock lock(_mu);
  for (;;) {
    _cv.wait(lock, [&] { return _stop || !_jobs.empty(); });
    if (_jobs.empty()) return;  // stopping, and nothing left
    job j = std::move(_jobs.front());
    _jobs.pop_front();
    lock.unlock();
    // At shutdown the jobs left are skipped: dropping cache is worth nothing to a process that
    // is going away, and the wait for writeback could hold up the close.
    bool skip;
    {
      std::lock_guard stop_lock(_mu);
      skip = _stop;
    }
    if (!skip) {
      auto f = j.fs->open(j.path, io::open_mode::read_only);
      if (f) {
        // The page cache evicts whole folios only, and the kernel keeps those that straddle
        // the range's start (up to 2 MiB, a PMD) or its partial first page: the previous job
        // of the file ended there. Starting at a 2 MiB boundary takes them too; pages
        // already evicted cost nothing.
        uint64_t from = j.from & ~(folio_max - 1);
        if ((*f)->drop_cache(from, j.to - from)) {
          metrics.page_cache_dropped_bytes.inc(j.to - j.from);
        } else {
          metrics.page_cache_drop_failures.inc();
        }
      }
      // A file that is gone took its pages with it.
    }
    lock.lock();
    ++_finished;
    _done.notify_all();
  }
}

}  // namespace spate::storage
