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
// A job writes its range back and waits for that (sync_file_range), then evicts it
// (posix_fadvise DONTNEED, which drops only clean pages). It runs on the trimmer's thread,
// never the owner's: the wait is for the disk. Each job opens the segment file anew, so that
// the writeback errors it sees are consumed on its own open file description and never hide
// one from the syncs of the log (Linux reports an error once per description, flusher.h). A
// job whose file is gone (retention, a compaction swap) is skipped; one that fails is
// counted. Either way nothing about the data changes: the page cache only loses clean copies.
//
// Threading: post() from any thread; jobs run in order on one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "io/file.h"

namespace spate::storage {

class cache_trimmer {
 public:
  cache_trimmer();
  ~cache_trimmer();
  cache_trimmer(const cache_trimmer&) = delete;
  cache_trimmer& operator=(const cache_trimmer&) = delete;

  // Writes back and evicts [from, to) of the file at `path`, soon, and whatever is left
  // cached in the 2 MiB below `from` (folios that straddled an earlier job's end). A `to` at
  // the file's end should be rounded up to a page, or its partial last page stays. A job
  // that continues the last one queued for the same file is merged into it. `fs` must
  // outlive the trimmer.
  void post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to);
  // Returns once every job posted before the call has run (tests, benchmarks).
  void drain();

 private:
  struct job {
    io::filesystem* fs;
    std::string path;
    uint64_t from;
    uint64_t to;
  };
  void run();

  std::mutex _mu;
  std::condition_variable _cv;    // a job was posted, or stop
  std::condition_variable _done;  // a job finished
  std::deque<job> _jobs;
  uint64_t _posted = 0;
  uint64_t _finished = 0;
  bool _stop = false;
  std::thread _thread;
};

}  // namespace spate::storage
