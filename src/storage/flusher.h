// Group commit: the thread that calls fdatasync for partition logs, so that appends never
// wait for the disk on their owner's core, and all appends that arrive while one sync is in
// flight share the next one.
//
// A partition log shares one `sync_target` with the flusher. The owner thread records what
// it wrote (written_end) and schedules the target; the flusher syncs the active file and
// completes every durability waiter whose data the sync covered. The interval policy is
// served by the same thread on a timer.
//
// Threading: one flusher per log_manager, one thread. sync_target is guarded by its mutex;
// callbacks run on the flusher thread (or on the caller's thread when already satisfied),
// never with a lock held.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"
#include "storage/log_config.h"

namespace spate::storage {

// How far an acknowledged append got.
enum class durability { page_cache, disk };

// Called once: ok with the durability reached, or the error that made the log fail.
using durability_callback = std::function<void(status, durability)>;

struct sync_target {
  std::mutex mu;
  io::file_ptr file;   // the active segment's log file
  offset written_end;  // next offset after everything written
  offset durable_end;  // everything below is on disk
  flush_policy policy = flush_policy::always;
  int64_t interval_ms = 1000;
  mono_clock::time_point last_sync = mono_clock::now();
  bool queued = false;
  std::optional<error> failed;  // set once a sync failed: the log is read-only from then on

  struct waiter {
    offset end;
    durability_callback cb;
  };
  std::deque<waiter> waiters;  // in append order, so ends ascend

  // Completes waiters covered by durable_end; the caller runs the returned callbacks after
  // unlocking. Requires mu held.
  std::vector<durability_callback> take_satisfied();
};

class flusher {
 public:
  flusher();
  ~flusher();
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  // Asks for a sync of `t` soon (group commit). Cheap; safe from any thread.
  void schedule(const std::shared_ptr<sync_target>& t);
  // Makes the thread re-read interval deadlines (a clean interval target became dirty).
  void wake();
  // Registers a target for the interval policy.
  void watch_interval(const std::shared_ptr<sync_target>& t);

  uint64_t syncs() const { return _syncs.load(std::memory_order_relaxed); }

  // Syncs one target now, on the calling thread, completing its waiters.
  static void sync_now(sync_target& t, std::atomic<uint64_t>* counter = nullptr);

 private:
  void run(std::stop_token stop);

  std::mutex _mu;
  std::condition_variable_any _cv;
  std::deque<std::shared_ptr<sync_target>> _queue;
  std::vector<std::weak_ptr<sync_target>> _interval_targets;
  bool _woken = false;
  std::atomic<uint64_t> _syncs{0};
  std::jthread _thread;  // last: starts after the members it uses exist
};

}  // namespace spate::storage
