// Dropping the page cache of log data that has fallen behind a trailing window
// (partition_log::set_page_cache_budget), on a thread of its own.
//
// Why: a log written at 1 GB/s grows the page cache by 1 GB/s until memory is full. On a VM
// whose host takes back guest memory that was free (virtio-balloon free page reporting, as on
// the machines of bench/RESULTS.md), each page the cache grows into costs a host fault: a
// bare write loop moved 380 MB/s at 2.5 ms of CPU per MB into such memory, against 2.1 GB/s
// and 0.31 ms when the file's pages more than 1 GiB behind were dropped as it went, so that
// the kernel reused them. Data behind the window is what a tailing consumer no longer reads;
// a consumer that falls further behind reads it from disk, as it would once memory is full
// (partition_log::note_reader: a recent reader stretches the window back to itself, up to
// four windows, and what a replay from further back reads is evicted behind it).
//
// Only clean pages can be evicted, and waiting for writeback here (sync_file_range with its
// wait flags, fdatasync) would consume a writeback error and mark it seen, so that a
// descriptor opened later (recovery after a crash, a reopened log) would no longer be told of
// it. So each range gets two passes of posix_fadvise DONTNEED, which never wait or look at
// errors: the first evicts what is clean and starts writeback of the rest; the second, half
// a second later (second_pass_delay), evicts what that writeback has cleaned by then. Pages
// still dirty then stay cached until the kernel needs the memory. Under `always` the data is
// clean before it leaves the window, and the first pass takes it all.
//
// Jobs run on the trimmer's thread, never the owner's: they cost CPU (writeback submission,
// freeing pages), not waits. Each opens the segment file anew: a job whose file is gone
// (retention, a compaction swap) is skipped; one that fails is counted. Either way nothing
// about the data changes: the page cache only loses clean copies.
//
// Threading: post() and drain() from any thread; jobs run in order on one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "io/file.h"

namespace spate::storage {

class cache_trimmer {
 public:
  static constexpr std::chrono::milliseconds second_pass_delay{500};

  cache_trimmer();
  ~cache_trimmer();
  cache_trimmer(const cache_trimmer&) = delete;
  cache_trimmer& operator=(const cache_trimmer&) = delete;

  // Evicts [from, to) of the file at `path` soon (two passes, above), and whatever is left
  // cached in the 2 MiB below `from` (folios that straddled an earlier job's end). A `to` at
  // the file's end should be rounded up to a page, or its partial last page stays. A job
  // that continues the last one queued for the same file is merged into it. `fs` must
  // outlive the trimmer.
  void post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to);
  // Returns once every job posted before the call has run both passes, the second at once
  // rather than after its delay (tests, benchmarks: flush the log first, and every page of
  // those ranges is clean and evicted).
  void drain();

 private:
  struct job {
    io::filesystem* fs;
    std::string path;
    uint64_t from;
    uint64_t to;
    mono_clock::time_point due;  // second pass: not before
  };
  void run();
  // One DONTNEED pass over the job's range; counts it when `last`.
  static void pass(const job& j, bool last);
  static void enqueue(std::deque<job>& q, job j);

  std::mutex _mu;
  std::condition_variable _cv;    // a job was posted, drain() hurries, or stop
  std::condition_variable _done;  // a job finished its second pass
  std::deque<job> _first;         // jobs waiting for their first pass
  std::deque<job> _second;        // and for their second, in order of `due`
  uint64_t _posted = 0;
  uint64_t _finished = 0;
  size_t _hurry = 0;  // drain() calls waiting: second passes are due at once
  bool _stop = false;
  std::thread _thread;
};

}  // namespace spate::storage
