#include "storage/flusher.h"

#include <algorithm>

#include "storage/storage_metrics.h"

namespace spate::storage {

std::vector<durability_callback> sync_target::take_satisfied() {
  std::vector<durability_callback> done;
  while (!waiters.empty() && waiters.front().end <= durable_end) {
    done.push_back(std::move(waiters.front().cb));
    waiters.pop_front();
  }
  return done;
}

flusher::flusher() : _thread([this](std::stop_token st) { run(st); }) {}

flusher::~flusher() {
  _thread.request_stop();
  _cv.notify_all();
}

void flusher::schedule(const std::shared_ptr<sync_target>& t) {
  {
    std::lock_guard lock(_mu);
    _queue.push_back(t);
  }
  _cv.notify_one();
}

void flusher::wake() {
  {
    std::lock_guard lock(_mu);
    _woken = true;
  }
  _cv.notify_one();
}

void flusher::watch_interval(const std::shared_ptr<sync_target>& t) {
  {
    std::lock_guard lock(_mu);
    _interval_targets.push_back(t);
  }
  _cv.notify_one();
}

void flusher::sync_now(sync_target& t, std::atomic<uint64_t>* counter) {
  io::file_ptr file;
  offset end;
  std::vector<durability_callback> done;
  {
    std::lock_guard lock(t.mu);
    t.queued = false;
    if (!t.failed && t.written_end > t.durable_end && t.file) {
      file = t.file;
      end = t.written_end;
    } else {
      done = t.take_satisfied();
    }
  }
  if (!file) {
    // Callbacks run unlocked: they may append to this very log.
    for (auto& cb : done) cb(ok(), durability::disk);
    return;
  }
  // Everything below `end` is either in `file` or in a segment that was synced when it was
  // rolled, so one fdatasync of `file` makes it all durable.
  auto& metrics = storage_metrics::get();
  auto began = mono_clock::now();
  status st = file->sync_data();
  metrics.fdatasync_micros.record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(mono_clock::now() - began).count()));
  metrics.fdatasyncs.inc();
  if (!st) metrics.fdatasync_failures.inc();
  if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  std::optional<error> failure;
  {
    std::lock_guard lock(t.mu);
    t.last_sync = mono_clock::now();
    if (st) {
      t.durable_end = std::max(t.durable_end, end);
      done = t.take_satisfied();
    } else {
      // After a failed fdatasync the kernel may have dropped the dirty pages, so a later
      // successful sync proves nothing: the log stops accepting writes (until reopened and
      // recovered) and every waiter learns of the failure.
      t.failed = st.error();
      failure = st.error();
      for (auto& w : t.waiters) done.push_back(std::move(w.cb));
      t.waiters.clear();
    }
  }
  if (!failure) metrics.durable_waiters_completed.inc(done.size());
  for (auto& cb : done) {
    if (failure) {
      cb(*failure, durability::page_cache);
    } else {
      cb(ok(), durability::disk);
    }
  }
}

void flusher::run(std::stop_token stop) {
  std::unique_lock lock(_mu);
  while (!stop.stop_requested()) {
    _woken = false;
    // The next interval deadline, if any target wants one.
    auto now = mono_clock::now();
    auto next_deadline = now + std::chrono::hours(1);
    std::vector<std::shared_ptr<sync_target>> due;
    std::erase_if(_interval_targets, [](auto& w) { return w.expired(); });
    for (auto& w : _interval_targets) {
      // The pruning above does not keep a target alive: its log may be destroyed on the
      // owner's thread at any moment, for instance while this scan waits for a lock.
      auto t = w.lock();
      if (!t) continue;
      std::lock_guard tl(t->mu);
      if (t->policy != flush_policy::interval || t->written_end <= t->durable_end) continue;
      auto deadline = t->last_sync + std::chrono::milliseconds(t->interval_ms);
      if (deadline <= now) {
        due.push_back(t);
      } else {
        next_deadline = std::min(next_deadline, deadline);
      }
    }
    if (_queue.empty() && due.empty()) {
      // Wake on a schedule() or at the next deadline; the interval list is re-read then.
      _cv.wait_until(lock, stop, next_deadline, [&] { return !_queue.empty() || _woken; });
      continue;
    }
    while (!_queue.empty()) {
      due.push_back(std::move(_queue.front()));
      _queue.pop_front();
    }
    lock.unlock();
    for (auto& t : due) sync_now(*t, &_syncs);
    lock.lock();
  }
}

}  // namespace spate::storage
