// write_stall_probe: how long a small appending pwrite can block while another thread
// fdatasyncs the same file. The broker's owner thread appends to a partition's active segment
// while a flusher worker syncs it (group commit, acks=all); if the kernel holds the tail page
// for the sync's write-back, the append, and with it the owner's whole event loop, waits for the
// disk. bench/RESULTS.md ("Where B1, B4, B5 and B6 time goes") uses these figures.
//
//   build/release/bench/write_stall_probe --dir /var/tmp/probe [--seconds 8] [--rate 10000]
//
// Four runs, each appending --size bytes at --rate per second to a fresh file in --dir:
//   alone          nothing else touches the disk
//   sync-same      a second thread fdatasyncs the appended file back to back (the broker's case)
//   sync-other     a second thread appends to and fdatasyncs another file (the disk is as busy,
//                  but no write-back of the appended file's pages)
//   sync-same-pre  as sync-same, into a file zero-filled and synced first (no block allocation
//                  and no size change in the appends; --preallocate-bytes in the broker)
// Per run: pwrite p50 / p99 / max, how many took over 1 ms, and the syncs' p50 / max.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

int64_t ns_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "write_stall_probe: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

struct percentiles {
  double p50_us = 0, p99_us = 0, max_us = 0;
  size_t over_1ms = 0, count = 0;
};

percentiles summarize(std::vector<int64_t> ns) {
  percentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    return static_cast<double>(ns[static_cast<size_t>(q * double(ns.size() - 1))]) / 1e3;
  };
  p.p50_us = at(0.5);
  p.p99_us = at(0.99);
  p.max_us = static_cast<double>(ns.back()) / 1e3;
  p.over_1ms = static_cast<size_t>(
      std::count_if(ns.begin(), ns.end(), [](int64_t v) { return v > 1000000; }));
  return p;
}

int open_fresh(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  return fd;
}

void write_all_at(int fd, const char* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("pwrite");
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
}

enum class mode { alone, sync_same, sync_other, sync_same_pre };

void run(const std::string& dir, mode m, const char* name, double seconds, double rate,
         size_t size) {
  std::string path = dir + "/probe-append.dat", other = dir + "/probe-other.dat";
  int fd = open_fresh(path);
  uint64_t total = static_cast<uint64_t>(seconds * rate) * size;
  if (m == mode::sync_same_pre) {
    std::vector<char> zeros(1 << 20, 0);
    for (uint64_t at = 0; at < total + zeros.size(); at += zeros.size()) {
      write_all_at(fd, zeros.data(), zeros.size(), static_cast<off_t>(at));
    }
    if (::fsync(fd) != 0) die("fsync");
  }
  std::atomic<bool> stop{false};
  std::vector<int64_t> sync_ns;
  std::thread syncer;
  if (m != mode::alone) {
    syncer = std::thread([&] {
      int sfd = fd;
      off_t other_at = 0;
      std::vector<char> block(size, 'o');
      if (m == mode::sync_other) sfd = open_fresh(other);
      while (!stop.load()) {
        if (m == mode::sync_other) {
          write_all_at(sfd, block.data(), block.size(), other_at);
          other_at += static_cast<off_t>(block.size());
        }
        auto t = clock_type::now();
        if (::fdatasync(sfd) != 0) die("fdatasync");
        sync_ns.push_back(ns_since(t));
      }
      if (sfd != fd) ::close(sfd);
    });
  }
  std::vector<char> record(size, 'r');
  std::vector<int64_t> write_ns;
  auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  auto next = clock_type::now();
  off_t at = 0;
  for (uint64_t i = 0; i < static_cast<uint64_t>(seconds * rate); ++i) {
    std::this_thread::sleep_until(next);
    next += interval;
    auto t = clock_type::now();
    write_all_at(fd, record.data(), record.size(), at);
    write_ns.push_back(ns_since(t));
    at += static_cast<off_t>(size);
  }
  stop.store(true);
  if (syncer.joinable()) syncer.join();
  ::close(fd);
  ::unlink(path.c_str());
  ::unlink(other.c_str());
  auto w = summarize(std::move(write_ns));
  auto s = summarize(std::move(sync_ns));
  std::printf("| %-13s | %7zu | %8.1f | %8.1f | %9.1f | %7zu | %8.1f | %9.1f |\n", name, w.count,
              w.p50_us, w.p99_us, w.max_us, w.over_1ms, s.p50_us, s.max_us);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  double seconds = 8, rate = 10000;
  size_t size = 1024;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--dir" && v) {
      dir = v;
    } else if (a == "--seconds" && v) {
      seconds = std::atof(v);
    } else if (a == "--rate" && v) {
      rate = std::atof(v);
    } else if (a == "--size" && v) {
      size = static_cast<size_t>(std::atol(v));
    } else {
      std::fprintf(stderr,
                   "usage: write_stall_probe [--dir DIR] [--seconds S] [--rate R] [--size B]\n");
      return 2;
    }
    ++i;
  }
  if (seconds <= 0 || rate <= 0 || size == 0) {
    std::fprintf(stderr, "write_stall_probe: --seconds, --rate and --size must be positive\n");
    return 2;
  }
  std::printf("write_stall_probe: %zu-byte appending pwrites at %.0f/s for %.0f s in %s\n\n", size,
              rate, seconds, dir.c_str());
  std::printf(
      "| run           |  writes | p50 µs   | p99 µs   | max µs    | > 1 ms  | sync p50 | sync max "
      " |\n"
      "|---------------|--------:|---------:|---------:|----------:|--------:|---------:|----------"
      ":|\n");
  run(dir, mode::alone, "alone", seconds, rate, size);
  run(dir, mode::sync_same, "sync-same", seconds, rate, size);
  run(dir, mode::sync_other, "sync-other", seconds, rate, size);
  run(dir, mode::sync_same_pre, "sync-same-pre", seconds, rate, size);
  return 0;
}
