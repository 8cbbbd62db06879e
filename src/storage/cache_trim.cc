#include "storage/cache_trim.h"

#include <algorithm>
#include <utility>

#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {
// The largest folio the page cache uses (a PMD on x86-64).
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

void cache_trimmer::enqueue(std::deque<job>& q, job j) {
  if (!q.empty()) {
    job& last = q.back();
    if (last.fs == j.fs && last.path == j.path && last.to == j.from) {
      last.to = j.to;
      last.due = std::max(last.due, j.due);  // the later part's writeback needs its delay
      return;
    }
  }
  q.push_back(std::move(j));
}

void cache_trimmer::post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to) {
  if (to <= from) return;
  {
    std::lock_guard lock(_mu);
    size_t before = _first.size();
    enqueue(_first, {&fs, std::move(path), from, to, {}});
    if (_first.size() > before) ++_posted;
  }
  _cv.notify_one();
}

void cache_trimmer::drain() {
  std::unique_lock lock(_mu);
  uint64_t target = _posted;
  ++_hurry;
  _cv.notify_one();
  _done.wait(lock, [&] { return _finished >= target || _stop; });
  --_hurry;
}

void cache_trimmer::pass(const job& j, bool last) {
  auto& metrics = storage_metrics::get();
  auto f = j.fs->open(j.path, io::open_mode::read_only);
  if (!f) return;  // a file that is gone took its pages with it
  // The page cache evicts whole folios only, and keeps those that straddle the range's start
  // (up to 2 MiB) or its partial first page: the previous job of the file ended there.
  // Starting at a 2 MiB boundary takes them too; pages already evicted cost nothing.
  uint64_t from = j.from & ~(folio_max - 1);
  if (!(*f)->drop_cache(from, j.to - from)) {
    metrics.page_cache_drop_failures.inc();
  } else if (last) {
    metrics.page_cache_dropped_bytes.inc(j.to - j.from);
  }
}

void cache_trimmer::run() {
  std::unique_lock lock(_mu);
  for (;;) {
    auto second_due = [&] {
      return !_second.empty() && (_hurry > 0 || _second.front().due <= mono_clock::now());
    };
    if (_stop) return;  // jobs left are skipped: worth nothing to a process going away
    if (!_first.empty()) {
      job j = std::move(_first.front());
      _first.pop_front();
      lock.unlock();
      pass(j, false);
      j.due = mono_clock::now() + second_pass_delay;
      lock.lock();
      enqueue(_second, std::move(j));
      continue;
    }
    if (second_due()) {
      job j = std::move(_second.front());
      _second.pop_front();
      lock.unlock();
      pass(j, true);
      lock.lock();
      // Merged jobs count as one: finish as many as were posted into it. Posts merge only
      // into _first's last job, so a job in _second stands for one post or more in order;
      // counting by posts is kept simple by finishing everything posted once both queues
      // are empty.
      if (_first.empty() && _second.empty()) _finished = _posted;
      _done.notify_all();
      continue;
    }
    if (_second.empty()) {
      _cv.wait(lock, [&] { return _stop || !_first.empty() || second_due(); });
    } else {
      _cv.wait_until(lock, _second.front().due,
                     [&] { return _stop || !_first.empty() || second_due(); });
    }
  }
}

}  // namespace spate::storage
