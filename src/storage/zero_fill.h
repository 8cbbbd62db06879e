// Zero-filling the active segment ahead of its appends (log_config::preallocate_bytes), so that
// a log under `flush.policy=always` overwrites blocks already written and synced: an fdatasync
// of such a write has no metadata to write (no extent to allocate, no size to change) and took
// about half as long on the data disk (bench/RESULTS.md, "segment preallocation").
//
// Filling starts only after a segment's first append (and goes on whenever its data comes
// within half a chunk of the zeros' end), never at open or roll: a broker with many idle
// partitions would otherwise write preallocate_bytes of zeros for each of them at every start
// and roll, for appends that may never come.
//
// The zeros are written by the zero_filler's thread, never the owner's: one chunk per job, in
// pieces of 1 MiB, past the end the owner has announced, then fdatasynced on a descriptor
// opened for that job alone (a shared descriptor could consume a writeback error that the
// roll's sync of the file must see; Linux reports one once per open file description). The
// owner announces the end of each write before making it, and waits only if that write would
// reach the piece being written right then (a page-cache write of at most 1 MiB, not a sync).
// Each piece starts past the owner's latest announced end, so appends that overtake a job are
// never overwritten, and a job that finds itself stopped (roll, close) stops at the next piece.
//
// A roll stops the filling without waiting: the flusher's roll work waits for the piece in
// progress, if any, and cuts the closed file back to its data before syncing it
// (partition_log::roll_locked), so the owner never waits for zero-fill I/O at a roll. Close
// stops and cuts on the owner's thread, waiting for at most one piece. A crash before the cut
// leaves a zero tail, which recovery removes and reports apart from cut data
// (docs/formats/segment.md).
//
// Threading: a zero_fill_state is shared by its segment (owner thread), the filler's thread
// and, after a roll, the flusher's roll work; its fields are guarded by `mu`, never held
// across I/O.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/file.h"

namespace spate::storage {

struct zero_fill_state {
  zero_fill_state(io::filesystem& f, std::string p, uint64_t start, uint64_t chunk_bytes,
                  uint64_t limit_bytes)
      : fs(f),
        path(std::move(p)),
        owner_end(start),
        zeroed_end(start),
        chunk(chunk_bytes),
        limit(limit_bytes) {}

  io::filesystem& fs;
  const std::string path;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t owner_end;    // the owner writes only below this; a piece starts at or past it
  uint64_t zeroed_end;   // zeros written (by finished jobs) up to here
  bool writing = false;  // a job is writing a piece of zeros from `writing_from` now
  uint64_t writing_from = 0;
  bool in_job = false;     // a job is posted and has not finished (its sync included)
  bool stopped = false;    // roll, close, or a failed job: no more filling
  bool wrote = false;      // some zeros were written: the file may be longer than its data
  uint64_t cut_backs = 0;  // a failed append cut the file: a running job's zeros do not count
  const uint64_t chunk;
  const uint64_t limit;  // no zeros at or past this file size
};

// One thread that runs zero-fill jobs for every log of a flusher. Jobs are independent of the
// syncs: nothing waits for a job to finish. The owner of a write that reaches the piece being
// written waits for that piece, and so do a close and a roll's work (zero_fill_stop).
class zero_filler {
 public:
  zero_filler();
  ~zero_filler();
  zero_filler(const zero_filler&) = delete;
  zero_filler& operator=(const zero_filler&) = delete;

  // Owner thread, after a write that ended at `end`: posts a job if fewer than half a chunk of
  // zeros lie ahead and none is queued or running. Only appends call it, so a segment that
  // gets none is never filled.
  void maybe_fill(const std::shared_ptr<zero_fill_state>& s, uint64_t end);
  // Waits until no job is queued or running (tests, to see the zeros in place).
  void drain();

 private:
  void run(std::stop_token stop);
  static void fill(zero_fill_state& s);

  std::mutex _mu;
  std::condition_variable_any _cv;
  std::condition_variable _idle;
  std::deque<std::shared_ptr<zero_fill_state>> _jobs;
  bool _running = false;
  std::jthread _thread;  // last: starts after the members it uses exist
};

// Owner thread: announces a write of [_, end) and waits while a job writes a piece of zeros
// that starts below `end`.
void zero_fill_before_write(zero_fill_state& s, uint64_t end);
// Owner thread: a failed write was cut back to `size`.
void zero_fill_after_cut(zero_fill_state& s, uint64_t size);
// Any thread: no more filling, without waiting (a roll; the roll work then calls
// zero_fill_stop).
void zero_fill_stop_soon(zero_fill_state& s);
// Any thread: no more filling; returns once no job writes zeros any more (at most the piece in
// progress). Returns whether zeros were ever written, i.e. whether the file may need a cut.
bool zero_fill_stop(zero_fill_state& s);

}  // namespace spate::storage
