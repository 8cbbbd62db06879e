#include "storage/flusher.h"

#include <algorithm>

#include "base/thread_name.h"
#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {

// Fails the target: the log is read-only from then on, and every waiter learns of the error
// (run_step hands it to them, in order). After a failed fdatasync the kernel may have dropped
// the dirty pages, so a later successful sync proves nothing. Requires t.mu held.
void fail_locked(sync_target& t, const error& e) {
  if (!t.failed) t.failed = e;
  // Roll work left undone stays undone: the log accepts nothing more, and the next open
  // recovers the closed segments whose index was never written by scanning them. An entry
  // a worker is running now is still counted until it ends.
  t.pending_rolls -= t.before_sync.size();
  t.before_sync.clear();
}

// A sync or roll step proved everything below `end` durable. While a write-behind request
// runs, that waits for its outcome (sync_target::durable_after_behind). Requires t.mu held.
void note_durable_locked(sync_target& t, offset end) {
  if (t.behind_running) {
    t.durable_after_behind = std::max(t.durable_after_behind.value_or(end), end);
  } else {
    t.durable_end = std::max(t.durable_end, end);
  }
}

void record_sync(std::chrono::microseconds took, bool failed) {
  auto& metrics = storage_metrics::get();
  metrics.fdatasync_micros.record(static_cast<uint64_t>(took.count()));
  metrics.fdatasyncs.inc();
  if (failed) metrics.fdatasync_failures.inc();
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

bool sync_target::write_behind_due_locked() const {
  return !failed && pending_rolls == 0 && policy == flush_policy::interval &&
         write_behind_bytes > 0 && !behind_running && !sync_files.empty() &&
         written_pos > behind_pos && written_pos - behind_pos >= write_behind_bytes;
}

bool sync_target::has_startable_work_locked(bool any_policy) const {
  if (failed) return false;
  if (!before_sync.empty()) return !roll_running;  // a roll happened, whatever the policy
  if (pending_rolls > 0) return false;             // its work is running: syncs wait for it
  if (!any_policy && policy != flush_policy::always) return false;
  if (written_end <= started_end) return false;
  for (size_t i = 0; i < sync_files.size(); ++i) {
    if (!(busy_files & (1u << i))) return true;
  }
  return false;
}

bool sync_target::wants_sync_locked() {
  if (queued || !(has_startable_work_locked() || write_behind_due_locked())) return false;
  queued = true;
  return true;
}

flusher::flusher(size_t workers) {
  _threads.reserve(std::max<size_t>(workers, 1));
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i) {
    _threads.emplace_back([this](std::stop_token st) {
      name_this_thread("spate-flush");
      run(st);
    });
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

flusher::step flusher::run_step(sync_target& t, std::atomic<uint64_t>* counter, bool sync_active,
                                bool forced) {
  std::optional<sync_target::roll_work> roll;
  io::file_ptr file;
  std::shared_ptr<append_ring> ring;
  size_t slot = 0;
  offset end;
  io::file_ptr behind_file;
  uint64_t behind_from = 0;
  uint64_t behind_to = 0;
  {
    std::lock_guard lock(t.mu);
    if (t.failed) {
      // Failed by the owner (partition_log::fail: an append that could not be undone) or by
      // another thread: drop the roll work left, so that nothing waits for it.
      fail_locked(t, *t.failed);
      if (t.waiters.empty()) return {step_kind::nothing, t.steps_finished};
      // Waiters to fail: below.
    } else if (!t.before_sync.empty() && !t.roll_running) {
      roll = std::move(t.before_sync.front());
      t.before_sync.pop_front();
      t.roll_running = true;
      t.started_end = std::max(t.started_end, roll->end);
    } else if (t.pending_rolls == 0 && sync_active && t.written_end > t.started_end &&
               // Under `os` only when asked (flush, close): a worker that took the target for
               // roll work the owner had already run (wait_for_rolls) found it dirty and
               // synced it, an fdatasync nobody waits for (and one a test's armed sync fault
               // did not expect, which failed the fault model under load in CI).
               (forced || t.policy == flush_policy::always || t.interval_due) &&
               t.busy_files != (1u << t.sync_files.size()) - 1) {
      // No roll work is left, so everything below `end` is either in the active file or in
      // a segment whose roll work synced it: one fdatasync of the active file covers it all.
      for (size_t i = 0; i < t.sync_files.size(); ++i) {
        if (!(t.busy_files & (1u << i))) {
          slot = i;
          file = t.sync_files[i];
          break;
        }
      }
      t.busy_files |= 1u << slot;
      ++t.syncs_in_flight;
      end = t.written_end;
      ring = t.ring;
      t.started_end = end;
      t.interval_due = false;
      // The sync writes everything back: write-behind resumes from here.
      t.behind_pos = std::max(t.behind_pos, t.written_pos);
    } else if (!forced && t.write_behind_due_locked()) {
      // Only on a worker: sync_now's callers (close, flush, a roll's wait on the owner's
      // thread) must not wait for a request's I/O submission, and a sync covers it anyway.
      // Any descriptor of the active file will do: starting write-back consumes no error.
      behind_file = t.sync_files.front();
      behind_from = t.behind_pos;
      behind_to = t.written_pos;
      t.behind_pos = behind_to;
      t.behind_running = true;
    } else if (t.waiters.empty() || t.waiters.front().end > t.durable_end) {
      bool pending = t.pending_rolls > 0 || (sync_active && t.written_end > t.durable_end);
      return {pending ? step_kind::busy : step_kind::nothing, t.steps_finished};
    }
    // else: waiters already satisfied (a sync_now after a worker's sync): completed below.
    ++t.active_steps;
  }
  if (behind_file) {
    // A refused request (say EINVAL) only loses the head start: the pages stay dirty for the
    // timer's fdatasync. But a failed write-back may have left them clean without their data
    // on disk, where no later sync would notice: that fails the log, as a failed fdatasync.
    auto st = behind_file->start_writeback(behind_from, behind_to - behind_from);
    auto& metrics = storage_metrics::get();
    if (st) {
      metrics.write_behind_bytes.inc(behind_to - behind_from);
    } else {
      metrics.write_behind_failures.inc();
    }
    std::lock_guard lock(t.mu);
    t.behind_running = false;
    ++t.steps_finished;
    if (!st && io::is_writeback_failure(st.error())) {
      t.durable_after_behind.reset();
      fail_locked(t, st.error().with_context("starting write-back"));
    } else if (t.durable_after_behind) {
      t.durable_end = std::max(t.durable_end, *t.durable_after_behind);
      t.durable_after_behind.reset();
    }
  } else if (roll) {
    // The closed segment's sync (and the rest of the roll, partition_log::roll_locked).
    status st = roll->run();
    std::lock_guard lock(t.mu);
    --t.pending_rolls;
    t.roll_running = false;
    ++t.steps_finished;
    if (st) {
      // Earlier rolls' work ran before this one's, so all below the roll point is on disk.
      note_durable_locked(t, roll->end);
    } else {
      fail_locked(t, st.error());
    }
  } else if (file) {
    auto began = mono_clock::now();
    // Everything below `end` was put into the ring before `end` was recorded, so writing the
    // ring out now puts it all in the file this sync covers.
    status st = ring ? ring->write_out() : ok();
    if (st) st = file->sync_data();
    record_sync(std::chrono::duration_cast<std::chrono::microseconds>(mono_clock::now() - began),
                !st);
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(t.mu);
    t.busy_files &= ~(1u << slot);
    --t.syncs_in_flight;
    ++t.steps_finished;
    t.last_sync = mono_clock::now();
    // A tick seen while this sync ran is answered by it: the timer decides afresh from here.
    t.interval_due = false;
    if (st) {
      // This descriptor saw every writeback error since its own last sync, so ok means all
      // written before this sync began is on disk, even if an earlier sync is still running.
      note_durable_locked(t, end);
    } else {
      fail_locked(t, st.error());
    }
  }
  t.step_done.notify_all();

  // Waiters are taken and called under completion_mu, so that callbacks run in offset order
  // even when two syncs of this target end at once (each thread takes a prefix of the deque,
  // whose ends ascend). An error goes to every waiter left, whatever sync it waited for: the
  // log is failed, and the lost pages could be any of them.
  std::lock_guard completing(t.completion_mu);
  std::vector<durability_callback> done;
  std::optional<error> failure;
  {
    std::lock_guard lock(t.mu);
    if (t.failed) {
      failure = t.failed;
      for (auto& w : t.waiters) done.push_back(std::move(w.cb));
      t.waiters.clear();
    } else {
      done = t.take_satisfied();
    }
  }
  // Callbacks run unlocked (but for completion_mu): they may append to this very log, which
  // queues the target for the next sync.
  if (!failure) storage_metrics::get().durable_waiters_completed.inc(done.size());
  for (auto& cb : done) {
    if (failure) {
      cb(*failure, durability::page_cache);
    } else {
      cb(ok(), durability::disk);
    }
  }
  {
    std::lock_guard lock(t.mu);
    --t.active_steps;
  }
  t.step_done.notify_all();
  return {step_kind::worked, 0};
}

void flusher::quiesce(sync_target& t) {
  std::unique_lock lock(t.mu);
  t.step_done.wait(lock, [&] { return t.active_steps == 0; });
}

void flusher::sync_now(sync_target& t, std::atomic<uint64_t>* counter, bool active_file) {
  offset goal;
  {
    std::lock_guard lock(t.mu);
    goal = t.written_end;
  }
  for (;;) {
    auto s = run_step(t, counter, active_file, true);
    if (s.kind == step_kind::worked) continue;
    std::unique_lock lock(t.mu);
    if (t.failed) {
      if (!t.waiters.empty()) continue;  // fail the waiters left (run_step does, in order)
      // A worker may still be inside roll work it took before the failure (writing the
      // snapshot, say): the caller (wait_for_rolls, close) expects it to have ended.
      t.step_done.wait(lock, [&] { return t.active_steps == 0; });
      return;
    }
    bool rolls_done = t.pending_rolls == 0;
    bool data_done = !active_file || t.durable_end >= goal;
    if (rolls_done && data_done && s.kind == step_kind::nothing) return;
    if (rolls_done && data_done) continue;  // complete the satisfied waiters first
    // A worker holds the roll work or the descriptors (or runs the sync that covers `goal`):
    // wait for one of its steps to end, then look again.
    t.step_done.wait(lock, [&] { return t.steps_finished != s.seen; });
  }
}

void flusher::run(std::stop_token stop) {
  std::unique_lock lock(_mu);
  while (!stop.stop_requested()) {
    if (!_queue.empty()) {
      auto t = std::move(_queue.front());
      _queue.pop_front();
      lock.unlock();
      {
        std::lock_guard tl(t->mu);
        t->queued = false;
      }
      for (;;) {
        auto s = run_step(*t, &_syncs, true, false);
        if (s.kind != step_kind::worked) break;
        // Dirty again (appends arrived during the sync), or roll work waiting: this worker
        // goes on with the target itself, with no hand-off through the queue, unless another
        // worker was already asked to. Claimed (queued) while the flusher's lock is taken, so
        // the lock order holds and no append queues it meanwhile.
        {
          std::lock_guard tl(t->mu);
          if (t->queued || !(t->has_startable_work_locked() || t->write_behind_due_locked())) {
            break;
          }
          t->queued = true;
        }
        {
          std::lock_guard ql(_mu);
          if (!_queue.empty()) {
            // Others wait: to the back, so that one busy log cannot starve them when there
            // are more dirty logs than workers.
            _queue.push_back(t);
            break;
          }
        }
        std::lock_guard tl(t->mu);
        t->queued = false;
      }
      lock.lock();
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
      } else if (!t->queued && t->has_startable_work_locked(true)) {
        t->queued = true;
        t->interval_due = true;
        _queue.push_back(t);
      } else if (t->has_startable_work_locked(true)) {
        t->interval_due = true;  // queued already (for write-behind): sync it when taken
      }
    }
    if (!_queue.empty()) continue;
    // Wake on a schedule() or at the next deadline; the interval list is re-read then.
    _cv.wait_until(lock, stop, next_deadline, [&] { return !_queue.empty() || _woken; });
  }
}

}  // namespace spate::storage
