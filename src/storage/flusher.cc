#include "storage/flusher.h"

#include <algorithm>

#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {

// Fails the target: every waiter learns of the error and the log is read-only from then on.
// After a failed fdatasync the kernel may have dropped the dirty pages, so a later successful
// sync proves nothing. Requires t.mu held; the caller runs `done` with `e` after unlocking.
void fail_locked(sync_target& t, const error& e, std::vector<durability_callback>& done) {
  if (!t.failed) t.failed = e;
  for (auto& w : t.waiters) done.push_back(std::move(w.cb));
  t.waiters.clear();
  // Roll work left undone stays undone: the log accepts nothing more, and the next open
  // recovers the closed segments whose index was never written by scanning them.
  t.pending_rolls -= t.before_sync.size();
  t.before_sync.clear();
}

void record_sync(std::chrono::microseconds took, bool failed) {
  auto& metrics = storage_metrics::get();
  metrics.fdatasync_micros.record(static_cast<uint64_t>(took.count()));
  metrics.fdatasyncs.inc();
  if (failed) metrics.fdatasync_failures.inc();
}

// Whether a worker that just synced `t` should queue it again at once. Requires t.mu held.
bool needs_another_cycle(const sync_target& t) {
  if (t.failed) return false;
  if (!t.before_sync.empty()) return true;  // a roll happened meanwhile, whatever the policy
  return t.policy == flush_policy::always && t.written_end > t.durable_end;
}

}  // namespace

std::vector<durability_callback> sync_target::take_satisfied() {
  std::vector<durability_callback> done;
  while (!waiters.empty() && waiters.front().end <= durable_end) {
    done.push_back(std::move(waiters.front().cb));
    waiters.pop_front();
  }
  return done;
}

flusher::flusher(size_t workers) {
  _threads.reserve(std::max<size_t>(workers, 1));
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i) {
    _threads.emplace_back([this](std::stop_token st) { run(st); });
  }
}

flusher::~flusher() {
  for (auto& t : _threads) t.request_stop();
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

void flusher::sync_now(sync_target& t, std::atomic<uint64_t>* counter, bool active_file) {
  std::lock_guard cycle(t.cycle_mu);
  for (bool more = true; more;) {
    more = false;
    std::vector<durability_callback> done;
    std::optional<error> failure;
    std::optional<sync_target::roll_work> roll;
    io::file_ptr file;
    offset end;
    {
      std::lock_guard lock(t.mu);
      if (t.failed) {
        failure = t.failed;
        fail_locked(t, *failure, done);
      } else if (!t.before_sync.empty()) {
        roll = std::move(t.before_sync.front());
        t.before_sync.pop_front();
      } else if (active_file && t.written_end > t.durable_end && t.file) {
        // No roll work is left, so everything below `end` is either in `file` or in a
        // segment whose roll work synced it: one fdatasync of `file` makes it all durable.
        file = t.file;
        end = t.written_end;
      } else {
        done = t.take_satisfied();
      }
    }
    if (roll) {
      // The closed segment's sync (and the rest of the roll, partition_log::roll_locked).
      status st = roll->run();
      std::lock_guard lock(t.mu);
      --t.pending_rolls;
      if (st) {
        // Earlier rolls' work ran before this one's, so all below the roll point is on disk.
        t.durable_end = std::max(t.durable_end, roll->end);
        done = t.take_satisfied();
        more = true;  // then the active file, or the next roll
      } else {
        failure = st.error();
        fail_locked(t, *failure, done);
      }
    } else if (file) {
      auto began = mono_clock::now();
      status st = file->sync_data();
      record_sync(std::chrono::duration_cast<std::chrono::microseconds>(mono_clock::now() - began),
                  !st);
      if (counter) counter->fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(t.mu);
      t.last_sync = mono_clock::now();
      if (st) {
        t.durable_end = std::max(t.durable_end, end);
        done = t.take_satisfied();
      } else {
        failure = st.error();
        fail_locked(t, *failure, done);
      }
    }
    // Callbacks run unlocked (but for cycle_mu): they may append to this very log, which
    // queues the target for the next cycle.
    if (!failure) storage_metrics::get().durable_waiters_completed.inc(done.size());
    for (auto& cb : done) {
      if (failure) {
        cb(*failure, durability::page_cache);
      } else {
        cb(ok(), durability::disk);
      }
    }
  }
}

void flusher::run(std::stop_token stop) {
  std::unique_lock lock(_mu);
  while (!stop.stop_requested()) {
    if (!_queue.empty()) {
      auto t = std::move(_queue.front());
      _queue.pop_front();
      lock.unlock();
      sync_now(*t, &_syncs);
      bool again;
      {
        std::lock_guard tl(t->mu);
        again = needs_another_cycle(*t);
        if (!again) t->queued = false;
      }
      lock.lock();
      // To the back, so that one busy log cannot starve the others when there are more dirty
      // logs than workers; this worker takes the front next, without a wake-up.
      if (again) _queue.push_back(std::move(t));
      continue;
    }
    _woken = false;
    // The next interval deadline, if any target wants one.
    auto now = mono_clock::now();
    auto next_deadline = now + std::chrono::hours(1);
    std::erase_if(_interval_targets, [](auto& w) { return w.expired(); });
    for (auto& w : _interval_targets) {
      // The pruning above does not keep a target alive: its log may be destroyed on the
      // owner's thread at any moment, for instance while this scan waits for a lock.
      auto t = w.lock();
      if (!t) continue;
      std::lock_guard tl(t->mu);
      if (t->policy != flush_policy::interval || t->written_end <= t->durable_end) continue;
      auto deadline = t->last_sync + std::chrono::milliseconds(t->interval_ms);
      if (deadline > now) {
        next_deadline = std::min(next_deadline, deadline);
      } else if (!t->queued) {
        t->queued = true;
        _queue.push_back(t);
      }
    }
    if (!_queue.empty()) continue;
    // Wake on a schedule() or at the next deadline; the interval list is re-read then.
    _cv.wait_until(lock, stop, next_deadline, [&] { return !_queue.empty() || _woken; });
  }
}

}  // namespace spate::storage
