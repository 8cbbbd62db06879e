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
// the error it may see does not stop a sync on a descriptor of the flusher from seeing it too
// (Linux reports a writeback error once per open file description, flusher.h).
//
// But the wait marks the error seen, and a descriptor opened after that (recovery after a
// crash) would not be told of it. So a job whose writeback fails fails its log, as a failed
// fdatasync would (sync_target::failed): the log turns read-only, and nothing written after
// the last successful sync is ever reported durable. (Two passes of DONTNEED half a second
// apart, which never wait, were tried instead: B1 fell from 1.05 to 0.73-0.93 GB/s, as pages
// still under writeback stayed cached; bench/RESULTS.md, session 9.) A job whose file is gone
// (retention, a compaction swap) is skipped; one that fails otherwise is counted. The data
// never changes: the page cache only loses clean copies.
//
// Threading: post() and drain() from any thread; jobs run in order on one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/file.h"

namespace spate::storage {

struct sync_target;

class cache_trimmer {
 public:
  cache_trimmer();
  ~cache_trimmer();
  cache_trimmer(const cache_trimmer&) = delete;
  cache_trimmer& operator=(const cache_trimmer&) = delete;

  // Writes back and evicts [from, to) of the file at `path`, soon, and whatever is left
  // cached in the 2 MiB below `from` (folios that straddled an earlier job's end). A `to` at
  // the file's end should be rounded up to a page, or its partial last page stays. A
  // writeback error fails `log` (the log's sync_target). A job that continues the last one
  // queued for the same file is merged into it. `fs` must outlive the trimmer.
  void post(io::filesystem& fs, std::string path, uint64_t from, uint64_t to,
            std::weak_ptr<sync_target> log);
  // Returns once every job posted before the call has run (tests, benchmarks).
  void drain();

 private:
  struct job {
    io::filesystem* fs;
    std::string path;
    uint64_t from;
    uint64_t to;
    std::weak_ptr<sync_target> log;
  };
  void run();
  static void trim(const job& j);

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
