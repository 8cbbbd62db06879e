// append_write_probe: what it costs to put one 16 KiB batch after another into the page
// cache, by each way a log could do it, beside the 1 MiB pwrite that storage_bench's W_buf
// floor uses. Issue 2's buffered aim (16 KiB appends at 0.8 x W_buf) is out of reach while a
// bare pwrite of one batch's size reaches about half of W_buf on this kernel; this program
// shows that and measures the two alternatives that get past it here: writing through a shared
// mapping whose pages a second thread has faulted in ahead, and staging the pieces in a
// mapped ring that a second thread writes out in aligned MiBs. Both need the VM's free page
// reporting stopped to measure the write path and not the host's reclaim (bench/README.md).
// Built into the log (branch mapped-appends), the mapped way lost to pwrite either way
// (bench/RESULTS.md, "Session 11" and "Session 13"); the ring is not built.
//
//   build/release/bench/append_write_probe --dir /var/tmp/probe [--mb 1024] [--piece 16243]
//                                          [--rounds 3] [--ahead-mb 4]
//
// Per round, each on a fresh file of --mb MiB, after writing and unlinking one file of that
// size (the page-cache warm-up storage_bench does):
//   pwrite_1m       1 MiB pwrites (W_buf's pattern)
//   pwrite          --piece-byte pwrites, one after another (what a log's append is)
//   pwrite_reserve  the same with fallocate(KEEP_SIZE) --ahead-mb ahead (the log's way today)
//   mmap            memcpy into a MAP_SHARED mapping of a file fallocated first; the writer
//                   takes every page fault itself
//   mmap_populate   the same, while a second thread faults the pages in --ahead-mb ahead of
//                   the writer with MADV_POPULATE_WRITE (which returns an error, not SIGBUS)
//   ring            the writer copies each piece into a 64 MiB shared mapping of a second
//                   file (a staging ring, faulted in before the clock starts and reused lap
//                   after lap, so no copy takes a fault until write-back cleans the ring's
//                   pages: at --mb 1024 it does not start), and a second thread pwrites the ring
//                   to the file in 1 MiB pieces at 1 MiB-aligned offsets, W_buf's pattern. A
//                   log built this way would acknowledge a buffered append once it is in the
//                   ring: a MAP_SHARED page is in the page cache, so a process crash keeps it,
//                   and recovery would copy the ring's tail into the segment (session 13)
// Printed: MB/s, the writer's CPU per MB, the helper's, and MB/s over pwrite_1m's.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace {

using clock_type = std::chrono::steady_clock;
constexpr size_t mib = 1 << 20;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "append_write_probe: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double since_s(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct options {
  std::string dir;
  size_t mb = 1024;
  size_t piece = 16243;  // storage_bench's 16 KiB batch: 16 records of 1000-byte values
  int rounds = 3;
  size_t ahead = 4 * mib;
  size_t ring = 64 * mib;  // the ring way's staging ring
  std::string ways;        // comma-separated ways to run besides pwrite_1m; empty: all
};

struct outcome {
  double mb_s = 0;
  double writer_us_per_mb = 0;
  double helper_us_per_mb = 0;  // mmap_populate and ring
};

void pwrite_all(int fd, const char* p, size_t n, off_t pos) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, pos);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("pwrite");
    p += w;
    n -= static_cast<size_t>(w);
    pos += w;
  }
}

// Writes and unlinks one file of the run's size: these VMs hand memory the guest freed back to
// the host within seconds, and a step that grows the page cache into it runs several times
// slower (storage_bench's warm_page_cache).
void warm(const options& o) {
  std::string path = o.dir + "/warm.dat";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  std::vector<char> b(mib, 1);
  for (size_t i = 0; i < o.mb; ++i) pwrite_all(fd, b.data(), mib, static_cast<off_t>(i * mib));
  ::close(fd);
  ::unlink(path.c_str());
}

outcome run_pwrite(int fd, const options& o, size_t piece, bool reserve,
                   const std::vector<char>& src) {
  size_t total = o.mb * mib / piece * piece;
  size_t reserved = 0;
  double c0 = thread_cpu_s();
  auto t0 = clock_type::now();
  for (size_t pos = 0; pos < total; pos += piece) {
    if (reserve && pos + piece + o.ahead / 2 > reserved) {
      if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(reserved),
                      static_cast<off_t>(o.ahead)) != 0) {
        die("fallocate");
      }
      reserved += o.ahead;
    }
    pwrite_all(fd, src.data(), piece, static_cast<off_t>(pos));
  }
  double s = since_s(t0);
  double mbs = static_cast<double>(total) / 1e6;
  return {mbs / s, (thread_cpu_s() - c0) * 1e6 / mbs, 0};
}

// The clock covers everything the way costs: the fallocate and mmap before the copies, the
// helper's whole work, and the munmap of the dirty mapping after them.
outcome run_mmap(int fd, const options& o, bool populate, const std::vector<char>& src) {
  size_t total = o.mb * mib / o.piece * o.piece;
  size_t len = total + o.ahead;
  double c0 = thread_cpu_s();
  auto t0 = clock_type::now();
  if (::fallocate(fd, 0, 0, static_cast<off_t>(len)) != 0) die("fallocate");
  auto* m = static_cast<char*>(::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (m == MAP_FAILED) die("mmap");
  std::atomic<size_t> written{0};
  std::atomic<bool> done{false};
  double helper_cpu = 0;
  std::thread helper;
  if (populate) {
    helper = std::thread([&] {
      double c0 = thread_cpu_s();
      size_t p = 0;
      while (p < len && !done.load()) {
        if (p < written.load(std::memory_order_relaxed) + o.ahead) {
          size_t l = std::min(mib, len - p);
          if (::madvise(m + p, l, MADV_POPULATE_WRITE) != 0) die("madvise(MADV_POPULATE_WRITE)");
          p += l;
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
      helper_cpu = thread_cpu_s() - c0;
    });
  }
  for (size_t pos = 0; pos < total; pos += o.piece) {
    std::memcpy(m + pos, src.data(), o.piece);
    written.store(pos + o.piece, std::memory_order_relaxed);
  }
  done.store(true);
  if (helper.joinable()) helper.join();
  ::munmap(m, len);
  double s = since_s(t0);
  double writer_cpu = thread_cpu_s() - c0;
  double mbs = static_cast<double>(total) / 1e6;
  return {mbs / s, writer_cpu * 1e6 / mbs, helper_cpu * 1e6 / mbs};
}

// The clock covers the copies and the helper's writes until the last byte is in the file; the
// ring's set-up (ftruncate, mmap, faulting it in) comes before it, as a log would do once.
outcome run_ring(int fd, const options& o, const std::vector<char>& src) {
  const size_t ring = o.ring;
  size_t total = o.mb * mib / o.piece * o.piece;
  std::string path = o.dir + "/ring.dat";
  int rfd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (rfd < 0) die("open " + path);
  if (::ftruncate(rfd, static_cast<off_t>(ring)) != 0) die("ftruncate");
  auto* r = static_cast<char*>(::mmap(nullptr, ring, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0));
  if (r == MAP_FAILED) die("mmap");
  if (::madvise(r, ring, MADV_POPULATE_WRITE) != 0) die("madvise(MADV_POPULATE_WRITE)");
  std::atomic<size_t> head{0};  // bytes copied into the ring (the writer's)
  std::atomic<size_t> tail{0};  // bytes written from it to the file (the helper's)
  double helper_cpu = 0;
  double c0 = thread_cpu_s();
  auto t0 = clock_type::now();
  std::thread helper([&] {
    double c0 = thread_cpu_s();
    size_t pos = 0;
    while (pos < total) {
      size_t h = head.load(std::memory_order_acquire);
      // A whole aligned MiB, or the rest once the writer is done.
      if (h - pos < mib && h < total) {
        std::this_thread::yield();
        continue;
      }
      size_t n = std::min({h - pos, mib, ring - pos % ring});
      pwrite_all(fd, r + pos % ring, n, static_cast<off_t>(pos));
      pos += n;
      tail.store(pos, std::memory_order_release);
    }
    helper_cpu = thread_cpu_s() - c0;
  });
  for (size_t pos = 0; pos < total; pos += o.piece) {
    while (pos + o.piece - tail.load(std::memory_order_acquire) > ring) std::this_thread::yield();
    size_t at = pos % ring;
    size_t first = std::min(o.piece, ring - at);
    std::memcpy(r + at, src.data(), first);
    if (first < o.piece) std::memcpy(r, src.data() + first, o.piece - first);
    head.store(pos + o.piece, std::memory_order_release);
  }
  double writer_cpu = thread_cpu_s() - c0;
  helper.join();
  double s = since_s(t0);
  ::munmap(r, ring);
  ::close(rfd);
  ::unlink(path.c_str());
  double mbs = static_cast<double>(total) / 1e6;
  return {mbs / s, writer_cpu * 1e6 / mbs, helper_cpu * 1e6 / mbs};
}

outcome run_one(const options& o, const std::string& kind) {
  std::vector<char> src(std::max(o.piece, mib));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : src) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 32);
  }
  warm(o);
  ::sync();
  std::string path = o.dir + "/probe.dat";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  outcome r;
  if (kind == "pwrite_1m") r = run_pwrite(fd, o, mib, false, src);
  if (kind == "pwrite") r = run_pwrite(fd, o, o.piece, false, src);
  if (kind == "pwrite_reserve") r = run_pwrite(fd, o, o.piece, true, src);
  if (kind == "mmap") r = run_mmap(fd, o, false, src);
  if (kind == "mmap_populate") r = run_mmap(fd, o, true, src);
  if (kind == "ring") r = run_ring(fd, o, src);
  ::close(fd);
  ::unlink(path.c_str());  // drops the dirty pages: no writeback charged to the next step
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "append_write_probe: %s needs a value\n", a.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--dir") {
      o.dir = v;
    } else if (a == "--mb") {
      o.mb = std::strtoul(v.c_str(), nullptr, 10);
    } else if (a == "--piece") {
      o.piece = std::strtoul(v.c_str(), nullptr, 10);
    } else if (a == "--rounds") {
      o.rounds = std::atoi(v.c_str());
    } else if (a == "--ring-mb") {
      o.ring = std::strtoul(v.c_str(), nullptr, 10) * mib;
    } else if (a == "--ways") {
      o.ways = v;
    } else if (a == "--ahead-mb") {
      o.ahead = std::strtoul(v.c_str(), nullptr, 10) * mib;
    } else {
      std::fprintf(stderr, "append_write_probe: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  // At most half the ring way's 64 MiB ring: its helper writes whole MiBs until the writer is
  // done, so the writer's wait for room ends only if a piece leaves a MiB of the ring free.
  if (o.dir.empty() || o.mb == 0 || o.piece == 0 || o.ring < 2 * mib || o.piece > o.ring / 2 ||
      o.rounds <= 0 || o.ahead == 0) {
    std::fprintf(stderr,
                 "usage: append_write_probe --dir DIR [--mb 1024] [--piece 16243 (at most 32 MiB)] "
                 "[--rounds 3] "
                 "[--ahead-mb 4]\n");
    return 2;
  }
  std::printf("| round | way            |  MB/s | writer us/MB | helper us/MB | x pwrite_1m |\n");
  std::printf("|------:|----------------|------:|-------------:|-------------:|------------:|\n");
  const char* kinds[] = {"pwrite_1m", "pwrite", "pwrite_reserve", "mmap", "mmap_populate", "ring"};
  for (int round = 1; round <= o.rounds; ++round) {
    double floor = 0;
    for (const char* k : kinds) {
      if (std::string(k) != "pwrite_1m" && !o.ways.empty() &&
          ("," + o.ways + ",").find("," + std::string(k) + ",") == std::string::npos) {
        continue;
      }
      outcome r = run_one(o, k);
      if (std::string(k) == "pwrite_1m") floor = r.mb_s;
      char helper[32] = "-";
      if (r.helper_us_per_mb > 0) std::snprintf(helper, sizeof helper, "%.0f", r.helper_us_per_mb);
      std::printf("| %5d | %-14s | %5.0f | %12.0f | %12s | %11.2f |\n", round, k, r.mb_s,
                  r.writer_us_per_mb, helper, r.mb_s / floor);
      std::fflush(stdout);
    }
  }
  return 0;
}
