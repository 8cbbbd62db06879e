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
// waits for about one of its own syncs.
//
// Two syncs of one log in flight: with one, a batch appended just after a sync began waited
// for the rest of that sync and then all of its own. Now, while sync N runs, the appends that
// arrive meanwhile are covered by sync N+1, started at once on another worker. Each runs on
// its own descriptor of the active file (`sync_files`, opened with open(), not dup()): two
// concurrent fdatasyncs on one open file description can split a writeback error between them
// (Linux reports it once per open file description, errseq), and the one that missed it would
// acknowledge data that was lost. Each description sees every error raised since its own last
// sync, so a sync that returns ok proves that everything written before it began is on disk,
// whichever sync started first: `durable_end` is the largest end of a successful sync, and
// syncs may finish in either order. Any failed sync fails the log and every waiter. There are
// never more syncs of a target in flight than it has descriptors; a descriptor is never in two
// syncs at once. When a sync ends and the target is dirty again, the same worker starts the
// next one (no queue hand-off), or puts the target at the back of the queue when other
// targets wait, so that a log under acks=all load is synced back to back without starving
// the others.
//
// Write-behind, for the interval policy: once `write_behind_bytes` more of the active file
// have been written since the last request, the owner queues the target and a worker starts
// their write-back (io::file::start_writeback: it does not wait for the I/O, and consumes no
// error of it). The timer's fdatasync then finds little left to write: what came since the
// last request, and write-back still in flight. Without it, the timer's sync wrote a whole
// interval's data (0.3-0.9 s at 700 MB/s here), and while it ran, appends to the same file
// took ~15 times as long on this machine's ext4 (bench/RESULTS.md, session 12). Only workers
// start write-back (never sync_now, which may run on an owner's thread). A worker syncs an
// interval target only when the timer found it due (`interval_due`, cleared when a sync
// starts or ends) or from sync_now, so a queue entry for write-behind never becomes a sync,
// and the timer looks for a free descriptor before it asks for one. A request that fails
// with a write-back failure (EIO, ENOSPC, ...) fails the target like a failed fdatasync: the
// pages may be clean without their data on disk. A sync that ends while a request runs may
// have found those pages clean, so what it proved becomes durable only once the request has
// ended well (`durable_after_behind`).
//
// A roll leaves work on the target (`before_sync`): fdatasync of the segment it closed (on
// the segment's own descriptor, which no other sync uses), its index, the directory entry of
// the new segment. Roll work runs one piece at a time, in order, and no sync of the active
// file starts while any is pending or running (`pending_rolls`), so the owner's event loop
// never waits for it, and nothing past the roll is reported durable before the segment below
// it is.
//
// Threading: one flusher per log_manager, `workers` threads. sync_target's fields are guarded
// by its `mu`, which is never held across I/O or callbacks. `completion_mu` is held while
// waiters are taken and their callbacks run, so that callbacks of one target run in the order
// of their offsets even when two syncs finish at once. Lock order: the flusher's lock, then a
// target's `mu`; `completion_mu` before `mu`, and never with the flusher's lock. Callbacks run
// on a worker (or on the caller's thread when already satisfied) with only `completion_mu`
// held: they may append to the log, but not call sync_now.
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
#include "storage/append_ring.h"
#include "storage/cache_trim.h"
#include "storage/log_config.h"
#include "storage/zero_fill.h"

namespace spate::storage {

// How far an acknowledged append got.
enum class durability { page_cache, disk };

// Called once: ok with the durability reached, or the error that made the log fail.
using durability_callback = std::function<void(status, durability)>;

struct sync_target {
  std::mutex mu;
  // Descriptors of the active segment's log file, each opened separately, for its syncs: one
  // per sync in flight (see above). Replaced at a roll.
  std::vector<io::file_ptr> sync_files;
  // The log's append ring (append_ring.h), or nullptr: a sync of the active file writes it
  // out first, so that the sync covers everything appended before it began.
  std::shared_ptr<append_ring> ring;
  offset written_end;  // next offset after everything written (or put into the ring)
  offset durable_end;  // everything below is on disk
  // The largest end a sync of the active file (or a roll's work) has started to cover: the
  // target needs a new sync only once written_end passes it.
  offset started_end;
  flush_policy policy = flush_policy::always;
  int64_t interval_ms = 1000;
  // Write-behind (interval policy; 0: off). Byte positions in the active file: the end of what
  // was written, and how far write-back has been requested. Both restart at a roll.
  uint64_t write_behind_bytes = 0;
  uint64_t written_pos = 0;
  uint64_t behind_pos = 0;
  bool behind_running = false;  // a worker is in start_writeback now
  // The end a sync or roll step proved durable while a write-behind request was running:
  // applied to durable_end when that request ends without a write-back failure (a failed one
  // may have dropped pages that the sync then found clean), dropped when it fails the target.
  std::optional<offset> durable_after_behind;
  bool interval_due = false;  // the timer found this interval target due: a worker syncs it
  mono_clock::time_point last_sync = mono_clock::now();
  // In the flusher's queue: append does not queue it again. A worker clears it when it takes
  // the target out.
  bool queued = false;
  uint32_t busy_files = 0;  // bit i: sync_files[i] is in a sync now
  size_t syncs_in_flight = 0;
  bool roll_running = false;    // a worker runs a before_sync entry now
  uint64_t steps_finished = 0;  // counts ended syncs and roll work, for waiting in sync_now
  size_t active_steps = 0;      // run_step calls between taking work and their last callback
  std::condition_variable step_done;
  std::optional<error> failed;  // set once a sync failed: the log is read-only from then on

  struct waiter {
    offset end;
    durability_callback cb;
  };
  std::deque<waiter> waiters;  // in append order, so ends ascend

  // Work a roll left for the flusher, run in order before the next sync of the active file.
  // An error fails the log like a failed fdatasync. `pending_rolls` counts entries not yet
  // finished (including one a worker has taken out and is running).
  struct roll_work {
    offset end;  // the roll point: once `run` succeeds, everything below it is on disk
    std::function<status()> run;
  };
  std::deque<roll_work> before_sync;
  size_t pending_rolls = 0;

  std::mutex completion_mu;  // see Threading above

  // Whether a worker could start work on this target now: roll work, write-behind, or (with
  // `policy` always, or `any_policy`) a sync of the active file on a free descriptor. Requires
  // mu held.
  bool has_startable_work_locked(bool any_policy = false) const;
  // Whether write-behind is due: interval policy, enough new bytes, none running. Requires mu.
  bool write_behind_due_locked() const;
  // has_startable_work_locked() and not queued; then marks it queued, and the caller must
  // schedule it. Requires mu held.
  bool wants_sync_locked();
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
  // claimed it with t->wants_sync_locked() under t->mu (so a target is queued once).
  void schedule(const std::shared_ptr<sync_target>& t);
  // Makes a worker re-read interval deadlines (a clean interval target became dirty).
  void wake();
  // Registers a target for the interval policy.
  void watch_interval(const std::shared_ptr<sync_target>& t);

  uint64_t syncs() const { return _syncs.load(std::memory_order_relaxed); }
  // The thread that zero-fills active segments ahead of their appends (zero_fill.h).
  zero_filler& zero_fill() { return _zero_filler; }
  // The thread that drops the page cache behind each log's window (cache_trim.h).
  cache_trimmer& cache_trim() { return _cache_trimmer; }
  // The thread that writes the logs' append rings out into their segments (append_ring.h).
  ring_writer& rings() { return _ring_writer; }
  size_t workers() const { return _threads.size(); }

  // Runs the target's roll work and syncs it now, on the calling thread, completing its
  // waiters; returns once everything written before the call is durable (or the target has
  // failed), waiting for workers' syncs and roll work in flight. With `active_file` false only
  // the roll work runs.
  static void sync_now(sync_target& t, std::atomic<uint64_t>* counter = nullptr,
                       bool active_file = true);
  // Waits until no thread is inside a step of `t` (a sync, roll work, or their callbacks).
  // With two syncs in flight, sync_now can return on the later one while the earlier is still
  // in fdatasync; a log's close waits here, so that nothing runs on its files or callbacks
  // once it has closed.
  static void quiesce(sync_target& t);

 private:
  void run(std::stop_token stop);
  enum class step_kind { worked, nothing, busy };
  struct step {
    step_kind kind;
    uint64_t seen;  // t.steps_finished when it found nothing to start (for waiting)
  };
  // Starts and finishes at most one piece of work of `t` on this thread: its next roll work,
  // a sync of the active file (if dirty and `sync_active`, and for an interval target only
  // when `forced` or its timer is due) on a free descriptor, or else a write-behind request;
  // then completes the waiters that satisfied. `busy`: work is pending but another thread
  // holds what it needs.
  static step run_step(sync_target& t, std::atomic<uint64_t>* counter, bool sync_active,
                       bool forced);

  std::mutex _mu;
  std::condition_variable_any _cv;
  std::deque<std::shared_ptr<sync_target>> _queue;
  std::vector<std::weak_ptr<sync_target>> _interval_targets;
  bool _woken = false;
  std::atomic<uint64_t> _syncs{0};
  zero_filler _zero_filler;
  cache_trimmer _cache_trimmer;
  ring_writer _ring_writer;
  std::vector<std::jthread> _threads;  // last: start after the members they use exist
};

}  // namespace spate::storage
