// Group commit: the threads that call fdatasync for partition logs, so that appends never
// wait for the disk on their owner's core, and all appends that arrive while one sync of a
// log is in flight share the next one.
//
// A partition log shares one `sync_target` with the flusher. The owner thread records what
// it wrote (written_end) and schedules the target; a flusher worker syncs the active file and
// completes every durability waiter whose data the sync covered. The interval policy is
// served by the same workers on a timer.
//
// Why a pool: one thread syncing every log's file in turn made each acks=all produce wait for
// the syncs of all the other partitions, and one slow fdatasync (the disk is shared) held up
// all of them; under acks=all the single thread fell behind for good (bench/RESULTS.md, B5).
// Now different targets sync in parallel, on `workers` threads, so a log's acknowledgement
// waits for about one of its own syncs. One target is never synced by two threads at once:
// two concurrent fdatasyncs of one descriptor can split a writeback error between them
// (Linux reports it once per open file), and the one that missed it would acknowledge data
// that was lost. When a sync of a target completes and the target is dirty again, it goes
// straight back into the queue: a log under acks=all load is synced back to back.
//
// A roll leaves work on the target (`before_sync`): fdatasync of the segment it closed, its
// index, the directory entry of the new segment. Workers run it, in order, before the active
// file's next sync, so the owner's event loop never waits for it, and nothing past the roll
// is reported durable before the segment below it is.
//
// Threading: one flusher per log_manager, `workers` threads. sync_target's fields are guarded
// by its `mu`; `cycle_mu` is held for a whole sync cycle (by a worker, or by the owner in
// flush()/close()). Lock order: the flusher's lock, then a target's `mu`; `cycle_mu` is never
// taken with either held. Callbacks run on a worker (or on the caller's thread when already
// satisfied), never with a lock other than `cycle_mu` held.
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
  // In the flusher's queue or being synced by a worker: append does not queue it again, and
  // the worker re-queues it when it finds it dirty after its sync.
  bool queued = false;
  std::optional<error> failed;  // set once a sync failed: the log is read-only from then on

  struct waiter {
    offset end;
    durability_callback cb;
  };
  std::deque<waiter> waiters;  // in append order, so ends ascend

  // Work a roll left for the flusher, run in order before the next sync of `file`. An error
  // fails the log like a failed fdatasync. `pending_rolls` counts entries not yet finished
  // (including one a worker has taken out and is running).
  struct roll_work {
    offset end;  // the roll point: once `run` succeeds, everything below it is on disk
    std::function<status()> run;
  };
  std::deque<roll_work> before_sync;
  size_t pending_rolls = 0;

  // Held for a whole sync cycle (roll work + fdatasync + completion), so that a target is
  // never synced by two threads at once.
  std::mutex cycle_mu;

  // Completes waiters covered by durable_end; the caller runs the returned callbacks after
  // unlocking. Requires mu held.
  std::vector<durability_callback> take_satisfied();
};

class flusher {
 public:
  // Enough workers that the partitions hot under acks=all on a small machine each have one;
  // they sleep in fdatasync, not on a CPU.
  static constexpr size_t default_workers = 8;

  explicit flusher(size_t workers = default_workers);
  ~flusher();
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  // Asks for a sync of `t` soon (group commit). Cheap; safe from any thread. The caller has
  // set t->queued under t->mu (so a target is queued once).
  void schedule(const std::shared_ptr<sync_target>& t);
  // Makes a worker re-read interval deadlines (a clean interval target became dirty).
  void wake();
  // Registers a target for the interval policy.
  void watch_interval(const std::shared_ptr<sync_target>& t);

  uint64_t syncs() const { return _syncs.load(std::memory_order_relaxed); }
  size_t workers() const { return _threads.size(); }

  // Runs the target's roll work and syncs it now, on the calling thread, completing its
  // waiters. Waits for a worker's cycle on the same target to end first. With `active_file`
  // false only the roll work runs.
  static void sync_now(sync_target& t, std::atomic<uint64_t>* counter = nullptr,
                       bool active_file = true);

 private:
  void run(std::stop_token stop);

  std::mutex _mu;
  std::condition_variable_any _cv;
  std::deque<std::shared_ptr<sync_target>> _queue;
  std::vector<std::weak_ptr<sync_target>> _interval_targets;
  bool _woken = false;
  std::atomic<uint64_t> _syncs{0};
  std::vector<std::jthread> _threads;  // last: start after the members they use exist
};

}  // namespace spate::storage
