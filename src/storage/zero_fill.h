// Zero-filling the active segment ahead of its appends (log_config::preallocate_bytes), so that
// a log under `flush.policy=always` overwrites blocks already written and synced: an fdatasync
// of such a write has no metadata to write (no extent to allocate, no size to change) and took
// about half as long on the data disk (bench/RESULTS.md, "segment preallocation").
//
// The zeros are written by the zero_filler's thread, never the owner's: one chunk at a time,
// past the end the owner has announced, then fdatasynced on a descriptor opened for that job
// alone (a shared descriptor could consume a writeback error that the roll's sync of the file
// must see; Linux reports one once per open file description). The owner announces the end
// of each write before making it, and waits only if that write would reach a chunk being
// written right then (a page-cache write, not a sync). Roll and close stop the filling and cut
// the file back to the data's end; a crash before that leaves a zero tail, which recovery
// removes and reports apart from cut data (docs/formats/segment.md).
//
// Threading: a zero_fill_state is shared by its segment (owner thread) and the filler's
// thread; its fields are guarded by `mu`, never held across I/O.
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
  uint64_t owner_end;    // the owner writes only below this; a chunk starts at or past it
  uint64_t zeroed_end;   // zeros written (by finished jobs) up to here
  bool writing = false;  // a job is writing zeros from `writing_from` now
  uint64_t writing_from = 0;
  bool in_job = false;     // a job is posted and has not finished (its sync included)
  bool stopped = false;    // roll, close, or a failed job: no more filling
  uint64_t cut_backs = 0;  // a failed append cut the file: a running job's zeros do not count
  const uint64_t chunk;
  const uint64_t limit;  // no zeros at or past this file size
};

// One thread that runs zero-fill jobs for every log of a flusher. Jobs are independent of the
// syncs: nothing waits for a job to finish but the owner of a write that reaches its chunk.
class zero_filler {
 public:
  zero_filler();
  ~zero_filler();
  zero_filler(const zero_filler&) = delete;
  zero_filler& operator=(const zero_filler&) = delete;

  // Owner thread, after a write that ended at `end`: posts a job if fewer than half a chunk of
  // zeros lie ahead and none is queued or running.
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

// Owner thread: announces a write of [_, end) and waits while a job writes zeros at or below
// `end`.
void zero_fill_before_write(zero_fill_state& s, uint64_t end);
// Owner thread: a failed write was cut back to `size`.
void zero_fill_after_cut(zero_fill_state& s, uint64_t size);
// Owner thread: no more filling; returns once no job writes zeros any more.
void zero_fill_stop(zero_fill_state& s);

}  // namespace spate::storage
