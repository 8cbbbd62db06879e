// storage_bench: append and read throughput of one partition_log, printed as ratios to the
// disk floors of performance.md, which it measures itself in the same run and in the same
// data directory (conventions.md §14: a 2-core shared VM drifts 10-20 % run to run, so only
// a ratio to the machine's own floor means anything).
//
//   build/bench/bench/storage_bench                       # everything, ~1-2 minutes
//   build/bench/bench/storage_bench --filter append/1m/always --seconds 5
//
// Workloads (bench/README.md has the table of commands):
//   append/<16k|1m>/<always|interval|os>/<1|16>  RecordBatch v2 of 1 KiB records, pre-built.
//     1 appender: a synchronous loop on the owner thread (append, then for `always` wait for
//     when_durable). 16 appenders, in the broker's shape: 16 producers (one request in
//     flight each) live on one network-loop thread, and a batch reaches the partition's owner
//     thread as a post into its queue, as a request reaches the owner core's event loop; the
//     owner takes every post waiting when it wakes and appends that turn's batches with one
//     append_all (one pwritev). Acknowledgements are posted back to the network loop: for
//     `always` by when_durable, which is what lets group commit share one fdatasync.
//   read/<16k|1m>  the whole log read back with partition_log::read in 1 MiB fetches, each
//     slice copied into a buffer (pread), as a fetch that does not use sendfile would.
//
// Threading: main thread drives; per case one owner thread (or main itself for 1 appender),
// the flusher's threads, and with 16 appenders the network-loop thread.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "io/posix_filesystem.h"
#include "storage/flusher.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"
#include "storage/segment.h"
#include "storage/storage_metrics.h"
#include "support/batch_builder.h"

namespace spate::bench {
namespace {

using storage::flush_policy;
using seconds_d = std::chrono::duration<double>;

// MB is 10^6 bytes throughout, floors and results alike, so ratios need no conversion.
constexpr double mb = 1e6;
constexpr size_t mib = 1 << 20;

struct options {
  std::string dir = "./storage_bench.data";
  uint64_t size_mb = 1024;   // floor file size, and the most one append case writes
  double seconds = 3;        // most time per append or read case
  double floor_seconds = 2;  // time for W_sync64 and the read floor
  std::string filter;        // run only the cases it names (see selected())
  bool floors_only = false;
  bool fio = true;
  bool zero_filled_segment = false;   // experiment: see zero_fill_segment()
  uint64_t preallocate_mb = 0;        // log_config::preallocate_bytes for `always` cases
  uint64_t page_cache_budget_mb = 0;  // partition_log::set_page_cache_budget (0: off)
  // log_config::write_behind_bytes for `interval` cases, in MiB (default: the log's own).
  std::optional<uint64_t> write_behind_mb;
  // log_config::append_ring_bytes for `os` and `interval` cases, in MiB (default: the log's
  // own, 4; 0: off, every append written by the owner as before session 14).
  std::optional<uint64_t> append_ring_mb;
  double rate_mb = 0;                 // pace one-appender cases to this many MB/s (0: unpaced)
  bool pause_page_reporting = false;  // see page_reporting below
};

void usage() {
  std::printf(
      "usage: storage_bench [--dir DIR] [--size-mb N] [--seconds S] [--floor-seconds S]\n"
      "                     [--filter NAME] [--floors-only] [--no-fio]\n"
      "  --dir          data directory, on the disk under test (default ./storage_bench.data;\n"
      "                 created, and removed at the end)\n"
      "  --size-mb      floor file size and the cap on bytes per append case (default 1024)\n"
      "  --seconds      the cap on time per append/read case (default 3)\n"
      "  --floor-seconds  time for the W_sync64 and read floors (default 2)\n"
      "  --filter       only cases with these name parts in a row, e.g. append/16k/os/1 (just\n"
      "                 that case), append/1m, always, read\n"
      "  --floors-only  measure and print the floors only\n"
      "  --no-fio       do not run fio beside the in-process floors\n"
      "  --preallocate-mb N  `always` cases: the log zero-fills its active segment N MiB\n"
      "                 ahead of the appends (log_config::preallocate_bytes; default 0: off)\n"
      "  --page-cache-budget-mb N  the logs keep N MiB of what they wrote in the page cache\n"
      "                 and evict the rest as they go, as the broker does by default (its\n"
      "                 --page-cache-budget-mb; default here 0: keep everything)\n"
      "  --zero-filled-segment  experiment: before each append case, write zeros over the\n"
      "                 case's segment file ahead of the log (synced, not timed), so appends\n"
      "                 overwrite allocated blocks (the upper bound of --preallocate-mb)\n"
      "  --append-ring-mb N  `os` and `interval` cases: the log's append ring, N MiB (1-1024;\n"
      "                 0: off, the owner writes every append itself; default: the log's\n"
      "                 default, 4; storage/append_ring.h)\n"
      "  --write-behind-mb N  `interval` cases: the flusher starts the write-back of every N MiB\n"
      "                 of new data (log_config::write_behind_bytes; 0: off; default: the\n"
      "                 log's default, 8)\n"
      "  --rate-mb R    one-appender cases append at most R MB/s (paced; 0: as fast as they\n"
      "                 can, the default). For latency and sync figures at a rate the disk\n"
      "                 can sustain; the MB/s column is then the pace, not a capacity\n"
      "  --pause-page-reporting  on a VM whose balloon reports free pages to the host, stop\n"
      "                 the reporting while the bench runs and restore it at exit (root).\n"
      "                 Memory handed back to the host costs several times more to write\n"
      "                 into the next time it is used, so without this a case or floor\n"
      "                 that happens to get such pages runs far slower than its neighbours\n");
}

std::optional<options> parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    // A number above 0, or (allow_zero) at least 0.
    auto number = [&](double& out, bool allow_zero = false) {
      auto v = value();
      if (!v) return false;
      char* end = nullptr;
      out = std::strtod(v->c_str(), &end);
      return end != v->c_str() && *end == '\0' && (out > 0 || (allow_zero && out == 0));
    };
    double d = 0;
    if (a == "--dir") {
      auto v = value();
      if (!v) return std::nullopt;
      o.dir = *v;
    } else if (a == "--size-mb") {
      if (!number(d)) return std::nullopt;
      o.size_mb = static_cast<uint64_t>(d);
    } else if (a == "--seconds") {
      if (!number(o.seconds)) return std::nullopt;
    } else if (a == "--floor-seconds") {
      if (!number(o.floor_seconds)) return std::nullopt;
    } else if (a == "--filter") {
      auto v = value();
      if (!v) return std::nullopt;
      o.filter = *v;
    } else if (a == "--floors-only") {
      o.floors_only = true;
    } else if (a == "--no-fio") {
      o.fio = false;
    } else if (a == "--pause-page-reporting") {
      o.pause_page_reporting = true;
    } else if (a == "--preallocate-mb") {
      if (!number(d, true)) return std::nullopt;  // 0: off, as by default
      o.preallocate_mb = static_cast<uint64_t>(d);
    } else if (a == "--rate-mb") {
      if (!number(d, true)) return std::nullopt;
      o.rate_mb = d;
    } else if (a == "--append-ring-mb") {
      if (!number(d, true)) return std::nullopt;
      if (d != 0 && (d < 1 || d > 1024)) return std::nullopt;
      o.append_ring_mb = static_cast<uint64_t>(d);
    } else if (a == "--write-behind-mb") {
      if (!number(d, true)) return std::nullopt;
      o.write_behind_mb = static_cast<uint64_t>(d);
    } else if (a == "--page-cache-budget-mb") {
      if (!number(d, true)) return std::nullopt;  // 0: no budget, as by default
      o.page_cache_budget_mb = static_cast<uint64_t>(d);
    } else if (a == "--zero-filled-segment") {
      o.zero_filled_segment = true;
    } else {
      return std::nullopt;
    }
  }
  if (o.size_mb == 0) return std::nullopt;
  return o;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T check(result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message());
  return std::move(r).value();
}

void check(const status& s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().message());
}

double elapsed_s(mono_clock::time_point since) {
  return seconds_d(mono_clock::now() - since).count();
}

// Process CPU time (all threads), so a case's cost per byte can be compared with its rate.
double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

// Settles the disk between measurements: dirty pages a previous step left behind would
// otherwise be written back during the next one and charged to it.
void settle() {
  ::sync();
}

// ---------------------------------------------------------------------------------------
// Floors, with plain POSIX calls on a fresh file in the data directory.

// An open descriptor, closed on scope exit.
class raw_file {
 public:
  raw_file(const std::string& path, int flags) : _fd(::open(path.c_str(), flags, 0644)) {
    if (_fd < 0) die("open " + path + ": " + std::strerror(errno));
  }
  ~raw_file() { ::close(_fd); }
  raw_file(const raw_file&) = delete;
  raw_file& operator=(const raw_file&) = delete;
  int fd() const { return _fd; }

 private:
  int _fd;
};

void pwrite_all(int fd, const uint8_t* p, size_t n, uint64_t pos) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(pos));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die(std::string("pwrite: ") + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
    pos += static_cast<uint64_t>(w);
  }
}

// Incompressible bytes, as fio writes by default, so neither the floor nor fio's figure
// profits from a storage layer that compresses or deduplicates.
byte_buffer random_bytes(size_t n) {
  byte_buffer b(n);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<uint8_t>(x >> 32);
  }
  return b;
}

// Sequential pwrites of `piece` bytes (1 MiB unless told) into a new file, about `size_mb`
// MiB in all; with `final_fsync` the clock stops after one fsync of the whole file (fio
// --end_fsync=1), without it at the last write (page cache). `cpu_us_per_mb`, if given,
// receives the CPU time spent per MB: unlike the rate, it hardly moves when other processes
// take the cores.
double sequential_write_mb_s(const std::string& path, uint64_t size_mb, bool final_fsync,
                             double* cpu_us_per_mb = nullptr, size_t piece = mib) {
  const byte_buffer chunk = random_bytes(piece);
  std::filesystem::remove(path);
  raw_file f(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
  uint64_t pieces = size_mb * mib / piece;
  double cpu0 = cpu_seconds();
  auto start = mono_clock::now();
  for (uint64_t i = 0; i < pieces; ++i) pwrite_all(f.fd(), chunk.data(), piece, i * piece);
  if (final_fsync && ::fsync(f.fd()) != 0) die(std::string("fsync: ") + std::strerror(errno));
  double s = elapsed_s(start);
  double bytes = static_cast<double>(pieces * piece);
  if (cpu_us_per_mb) *cpu_us_per_mb = (cpu_seconds() - cpu0) * 1e6 / (bytes / mb);
  return bytes / s / mb;
}

// 1 MiB preads over a file already in the page cache, whole passes for about `seconds`.
double cached_read_mb_s(const std::string& path, double seconds, double* cpu_us_per_mb) {
  raw_file f(path, O_RDONLY | O_CLOEXEC);
  byte_buffer buf(mib);
  uint64_t total = 0;
  double cpu0 = cpu_seconds();
  auto start = mono_clock::now();
  do {
    for (uint64_t pos = 0;; pos += mib) {
      ssize_t n = ::pread(f.fd(), buf.data(), mib, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die(std::string("pread: ") + std::strerror(errno));
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
    }
  } while (elapsed_s(start) < seconds);
  double s = elapsed_s(start);
  *cpu_us_per_mb = (cpu_seconds() - cpu0) * 1e6 / (static_cast<double>(total) / mb);
  return static_cast<double>(total) / s / mb;
}

// Readies the page cache for a timed step, unmeasured. On these VMs memory the guest freed is
// handed back to the hypervisor within seconds (free page reporting), and touching it again
// faults in the host: a step that grows the page cache then writes at 0.4-0.9 GB/s instead
// of 2.5-5 GB/s, depending only on how long ago the previous step deleted its files. Writing
// and unlinking (which drops the dirty pages, no writeback) one file of the step's size just
// before it puts every floor and every case on recycled pages alike, as a long-running broker
// whose page cache is full would be.
void warm_page_cache(const options& o) {
  std::string path = o.dir + "/warm.dat";
  sequential_write_mb_s(path, o.size_mb + 32, false);  // + a case's overshoot past the cap
  std::filesystem::remove(path);
}

struct sync_floor {
  double mb_s = 0;
  double syncs_s = 0;
  double p50_us = 0;
};

// `writers` threads, each appending `piece` bytes to one shared, growing file (at the next
// position of a shared counter, as a log's appends are placed) and then calling fdatasync
// itself, over and over: that many durable appends of that size in flight with no group
// commit, the naive way to append to one log. With one writer, W_sync64's write + fdatasync
// one at a time (the log's files grow the same way). Each sync also commits a size change of the
// one inode, so the writers queue behind each other: fio's 16 jobs on separate files or regions (no
// shared size) get about twice this on the same disk.
//
// With `overwrite`, the file is first filled to `cap_bytes` and synced (not timed), so the
// writes land on blocks already written inside the file's size: the fdatasyncs then have no
// size or extent to record, only data (a reference for what the file system's metadata costs;
// the pages stay cached, so the unaligned writes need no reads).
sync_floor concurrent_sync(const std::string& path, int writers, size_t piece, double seconds,
                           uint64_t cap_bytes, bool overwrite = false) {
  const byte_buffer chunk = random_bytes(piece);
  std::filesystem::remove(path);
  raw_file f(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
  if (overwrite) {
    const byte_buffer fill = random_bytes(mib);
    for (uint64_t at = 0; at < cap_bytes; at += mib) pwrite_all(f.fd(), fill.data(), mib, at);
    if (::fsync(f.fd()) != 0) die(std::string("fsync: ") + std::strerror(errno));
  }
  std::atomic<uint64_t> next{0};
  std::vector<std::vector<int64_t>> lat(static_cast<size_t>(writers));
  auto start = mono_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      while (elapsed_s(start) < seconds) {
        uint64_t pos = next.fetch_add(piece);
        if (pos + piece > cap_bytes) return;
        auto t0 = mono_clock::now();
        pwrite_all(f.fd(), chunk.data(), piece, pos);
        if (::fdatasync(f.fd()) != 0) die(std::string("fdatasync: ") + std::strerror(errno));
        lat[static_cast<size_t>(w)].push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double s = elapsed_s(start);
  std::vector<int64_t> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  sync_floor out;
  out.mb_s = static_cast<double>(all.size() * piece) / s / mb;
  out.syncs_s = static_cast<double>(all.size()) / s;
  out.p50_us = percentile(all, 0.5) / 1e3;
  return out;
}

// The size of the 16 KiB cases' batch (16 records of 1000-byte values), defined with them.
size_t batch_16k_size();

struct floors {
  double w_buf = 0;        // MB/s, sequential 1 MiB writes without fsync (page cache)
  double w_buf_cpu = 0;    // CPU microseconds per MB of the above
  double r_cache = 0;      // MB/s, sequential 1 MiB preads of a cached file
  double r_cache_cpu = 0;  // CPU microseconds per MB of the above
  double w_seq = 0;        // MB/s, sequential 1 MiB writes with a final fsync
  sync_floor w_sync64;
  // The 16 KiB cases' own shape, without the log (see shape_floor below).
  double w_buf16 = 0;      // MB/s, sequential writes of one 16 KiB batch's size, no fsync
  double w_buf16_cpu = 0;  // CPU microseconds per MB of the above
  sync_floor w_sync16x16;  // 16 writers, each a 16 KiB batch's size + its own fdatasync
  // One writer appending sixteen 16 KiB batches' bytes at a time, each followed by an
  // fdatasync: a group commit of the 16k/always/16 round with nothing else to do (no
  // validation, no hand-offs, no thread wake-ups), and the same again over written blocks.
  sync_floor w_gc16;
  sync_floor w_gc16w;
};

floors measure_floors(const options& o) {
  floors f;
  std::string path = o.dir + "/floor.dat";
  settle();
  warm_page_cache(o);
  f.w_buf = sequential_write_mb_s(path, o.size_mb, false, &f.w_buf_cpu);
  // Read back what was just written: it is all in the page cache.
  f.r_cache = cached_read_mb_s(path, o.floor_seconds, &f.r_cache_cpu);
  // Unlinking drops the dirty pages, so W_seq starts on an idle disk.
  std::filesystem::remove(path);
  settle();
  warm_page_cache(o);
  f.w_seq = sequential_write_mb_s(path, o.size_mb, true);
  std::filesystem::remove(path);
  settle();
  warm_page_cache(o);
  f.w_sync64 = concurrent_sync(path, 1, 64 * 1024, o.floor_seconds, o.size_mb * mib);
  std::filesystem::remove(path);
  settle();
  warm_page_cache(o);
  f.w_buf16 = sequential_write_mb_s(path, o.size_mb, false, &f.w_buf16_cpu, batch_16k_size());
  std::filesystem::remove(path);
  settle();
  warm_page_cache(o);
  f.w_sync16x16 = concurrent_sync(path, 16, batch_16k_size(), o.floor_seconds, o.size_mb * mib);
  std::filesystem::remove(path);
  settle();
  warm_page_cache(o);
  f.w_gc16 = concurrent_sync(path, 1, 16 * batch_16k_size(), o.floor_seconds, o.size_mb * mib);
  std::filesystem::remove(path);
  settle();
  f.w_gc16w =
      concurrent_sync(path, 1, 16 * batch_16k_size(), o.floor_seconds, o.size_mb * mib, true);
  std::filesystem::remove(path);
  settle();
  return f;
}

// The same floors from fio, printed beside ours as a check on the in-process measurement.
struct fio_floors {
  std::optional<double> w_buf, w_seq, w_sync64;
};

// fio's write bandwidth (bytes/s) from its JSON output, in MB/s.
std::optional<double> run_fio(const std::string& args) {
  std::string cmd = "fio --output-format=json " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  // The job's "write" section; "rw" : "write" among the options comes first.
  auto w = out.find("\"write\" : {");
  if (w == std::string::npos) return std::nullopt;
  auto k = out.find("\"bw_bytes\"", w);
  if (k == std::string::npos) return std::nullopt;
  auto colon = out.find(':', k);
  if (colon == std::string::npos) return std::nullopt;
  return std::strtod(out.c_str() + colon + 1, nullptr) / mb;
}

fio_floors measure_fio(const options& o) {
  fio_floors f;
  if (!o.fio || std::system("command -v fio >/dev/null 2>&1") != 0) return f;
  std::string path = o.dir + "/fio.dat";
  std::string common = " --filename=" + path + " --size=" + std::to_string(o.size_mb) + "m";
  auto one = [&](const std::string& args) {
    std::filesystem::remove(path);
    settle();
    warm_page_cache(o);
    auto r = run_fio(args + common);
    std::filesystem::remove(path);
    return r;
  };
  // The commands of performance.md (W_buf: W_seq's without the fsync); only the file, the
  // size and, for sync64, a time cap added.
  f.w_buf = one("--name=w_buf --rw=write --bs=1m");
  f.w_seq = one("--name=w_seq --rw=write --bs=1m --end_fsync=1");
  char runtime[64];
  std::snprintf(runtime, sizeof runtime, " --runtime=%.0f", std::max(1.0, o.floor_seconds));
  f.w_sync64 = one(std::string("--name=w_sync64 --rw=write --bs=64k --fdatasync=1") + runtime);
  settle();
  return f;
}

// ---------------------------------------------------------------------------------------
// Append cases.

struct case_result {
  std::string name;
  double seconds = 0;
  uint64_t bytes = 0;
  uint64_t batches = 0;
  uint64_t syncs = 0;
  double batches_per_turn = 0;  // per append_all of the owner (one pwritev), 16 producers
  double owner_idle = -1;       // share of wall time the owner waited for posts (16 producers)
  double sync_p50_us = 0;       // fdatasync duration, median (histogram bucket bound, <= +12.5 %)
  double cpu_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  const char* floor_name = "";  // W_seq, W_buf or R_cache
  double floor_mb_s = 0;        // filled in once the floors are measured again at the end
  // The same I/O without the log, where the case's shape differs from its floor's: W_buf16
  // for the buffered 16 KiB cases, W_gc16 for 16 KiB under `always` with 16 producers.
  const char* shape_floor_name = "";
  double shape_floor_mb_s = 0;
  // Acknowledgement latency beyond p50/p99 (append cases), and the fdatasyncs' spread: with
  // one request in flight per producer, MB/s = bytes in flight / mean acknowledgement, so a
  // tail of slow syncs costs throughput in proportion to its share of the mean.
  double mean_us = 0, p90_us = 0, p999_us = 0, max_us = 0;
  double sync_p90_us = 0, sync_p99_us = 0, sync_max_us = 0;
  std::optional<double> aim;  // ratio to the floor
};

struct batch_shape {
  const char* name;  // in case names
  int records;
};

constexpr batch_shape shapes[] = {{"16k", 16}, {"1m", 1024}};

// ~1 KiB records: 1000-byte values plus key and record framing (1024 of them stay under
// message.max.bytes).
constexpr size_t value_size = 1000;

size_t batch_16k_size() {
  static const size_t size = test::make_batch(shapes[0].records, value_size).size();
  return size;
}

storage::log_config case_config(const options& o, flush_policy p) {
  storage::log_config cfg;
  cfg.flush = p;
  cfg.preallocate_bytes = o.preallocate_mb * mib;
  if (o.write_behind_mb) cfg.write_behind_bytes = *o.write_behind_mb * mib;
  if (o.append_ring_mb) cfg.append_ring_bytes = *o.append_ring_mb * mib;
  // One segment per case: a case writes at most --size-mb (1 GiB by default), and a roll
  // syncs the closed segment whole, which would land in a short run by accident (once per
  // GiB in a long one) rather than measure the steady state. The largest segment allowed;
  // a --size-mb above 2047 rolls regardless.
  cfg.segment_bytes = (1ull << 31) - 1;
  return cfg;
}

// One producer: its batch and latencies. With one appender, also where it waits for its
// acknowledgement: a mutex and condition variable rather than std::atomic::wait, whose
// spin-then-sched_yield would take a core from the flusher thread.
struct ack_slot {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t acks = 0;  // guarded by mu
  byte_buffer batch;  // this producer's batch; reused once acknowledged
  std::vector<int64_t> latency_ns;
  uint64_t acked = 0;
  mono_clock::time_point sent_at;  // 16 producers: when the batch in flight was posted

  uint64_t count() {
    std::lock_guard lock(mu);
    return acks;
  }
  void wait_past(uint64_t before) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return acks != before; });
  }
  void acknowledge() {
    {
      std::lock_guard lock(mu);
      ++acks;
    }
    cv.notify_one();
  }
};

// A thread's queue of posts, as an event loop's: many threads post, one thread takes
// everything waiting in one turn. A post wakes the taker only if it sleeps, so a busy taker
// costs its posters no system call and a turn costs at most one wake-up, however many posts
// it takes (Asio's io_context behaves alike).
class mailbox {
 public:
  void post(size_t item) {
    bool wake;
    {
      std::lock_guard lock(_mu);
      _items.push_back(item);
      wake = _sleeping;
      _sleeping = false;
    }
    if (wake) _cv.notify_one();
  }
  void post_all(const std::vector<size_t>& items) {
    bool wake;
    {
      std::lock_guard lock(_mu);
      _items.insert(_items.end(), items.begin(), items.end());
      wake = _sleeping;
      _sleeping = false;
    }
    if (wake) _cv.notify_one();
  }
  // Waits for posts and moves them all into `out` (empty on entry). False once closed and
  // drained.
  bool take(std::vector<size_t>& out) {
    std::unique_lock lock(_mu);
    while (_items.empty() && !_closed) {
      _sleeping = true;
      _cv.wait(lock);
    }
    _sleeping = false;
    if (_items.empty()) return false;
    out.swap(_items);
    return true;
  }
  void close() {
    {
      std::lock_guard lock(_mu);
      _closed = true;
    }
    _cv.notify_one();
  }

 private:
  std::mutex _mu;
  std::condition_variable _cv;
  std::vector<size_t> _items;
  bool _sleeping = false;
  bool _closed = false;
};

// First error seen on any thread; the case is abandoned and the run fails.
struct failure_box {
  std::atomic<bool> any{false};
  std::mutex mu;
  std::optional<std::string> message;
  void set(const std::string& m) {
    std::lock_guard lock(mu);
    if (!message) message = m;
    any.store(true, std::memory_order_release);
  }
  std::string get() {
    std::lock_guard lock(mu);
    return message.value_or("");
  }
};

std::string case_name(const batch_shape& s, flush_policy p, int appenders) {
  return std::string("append/") + s.name + "/" + storage::to_string(p) + "/" +
         std::to_string(appenders);
}

// The producers of one append case and where each waits for its acknowledgement. With more
// than one, the producers live on a network-loop thread and post their batches to the
// partition's owner thread (see run_threads); each is acknowledged by a post back: for
// `always` by when_durable, so every batch appended while a sync is in flight shares the next
// one (group commit); for `os` by when_durable too, which answers at once; for `interval` as
// soon as it is appended (the producer does not wait for the timer's sync). With one, the
// owner itself is the producer.
//
// Acknowledgements arrive on the flusher's threads, which may still be inside the last one's
// post when the network loop has already taken it, so this object must outlive the flusher:
// the caller declares it first.
class append_run {
 public:
  append_run(flush_policy policy, int producers, const byte_buffer& batch, uint64_t cap_bytes,
             double rate_mb_s = 0)
      : _policy(policy), _slots(static_cast<size_t>(producers)), _cap(cap_bytes), _rate(rate_mb_s) {
    for (auto& s : _slots) {
      s.batch = batch;
      s.latency_ns.reserve(1 << 16);
    }
  }

  // Runs for at most `seconds` or until `cap_bytes` are appended, then lets every producer
  // collect the acknowledgement it is waiting for. Returns the wall time from the start until
  // the last acknowledgement.
  double run(storage::partition_log& log, double seconds) {
    _log = &log;
    double s = _slots.size() == 1 ? run_inline(seconds) : run_threads(seconds);
    if (_failed.any.load()) die("append: " + _failed.get());
    return s;
  }

  const std::vector<ack_slot>& slots() const { return _slots; }
  // Owner turns (append_all calls) with more than one producer; 0 with one.
  uint64_t turns() const { return _turns; }
  // With more than one producer, the share of the case's wall time the owner spent waiting
  // for posts (its loop idle): under os and interval, what the closed loop's hand-offs cost
  // the owner, as against the log's own work; under always, mostly the syncs' time. 0 with
  // one producer, where the owner is the producer.
  double owner_idle() const { return _wall_s > 0 ? _owner_idle_s / _wall_s : 0; }

 private:
  // One producer with a single request in flight: append, and unless the policy is
  // `interval`, wait for when_durable (at once for `os`, after the covering sync for
  // `always`) before the next.
  double run_inline(double seconds) {
    ack_slot& s = _slots[0];
    auto start = mono_clock::now();
    uint64_t appended = 0;
    while (appended < _cap && elapsed_s(start) < seconds && !_failed.any.load()) {
      if (_rate > 0) {
        // Paced (--rate-mb): the next batch is due when the bytes so far have taken their
        // time at the rate; a late batch goes at once, and its latency counts from then.
        auto due = start +
                   std::chrono::duration_cast<mono_clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(appended) / (_rate * mb)));
        std::this_thread::sleep_until(due);
      }
      auto t0 = mono_clock::now();
      uint64_t before = s.count();
      auto a = _log->append(s.batch, wall_now());
      if (!a) die("append: " + a.error().message());
      appended += a->size;
      if (_policy != flush_policy::interval) {
        _log->when_durable(a->next_offset, [this, &s](status st, storage::durability) {
          if (!st) _failed.set(st.error().message());
          acknowledge(s);
        });
        s.wait_past(before);
      }
      s.latency_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now() - t0).count());
      ++s.acked;
    }
    return elapsed_s(start);
  }

  // The broker's shape: producers are connections on a network event loop, and a batch
  // reaches the partition's owner core as a post into that core's queue. The owner runs every
  // post that is waiting when it wakes (one wake-up per turn, none while it is busy) and
  // appends that turn's batches with one append_all. Acknowledgements travel back the same way:
  // posted to the network loop, which takes all that are waiting in one turn and sends each
  // producer's next batch. So there are two threads here besides the flusher's, not seventeen,
  // and every batch still goes through the log on its own: validated, written, and for
  // `always` acknowledged only by the when_durable of the sync that covers it.
  double run_threads(double seconds) {
    std::thread owner([this] { owner_loop(); });
    auto start = mono_clock::now();
    std::thread network([this] { network_loop(); });
    while (!_stop.load(std::memory_order_relaxed) && elapsed_s(start) < seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    _stop.store(true);
    network.join();  // returns once every batch sent has been acknowledged
    double s = elapsed_s(start);
    _to_owner.close();
    owner.join();
    _wall_s = s;
    return s;
  }

  // The network loop: 16 producers, each with one request in flight. Sends every producer's
  // first batch, then per turn takes every acknowledgement that has arrived, records its
  // latency and sends that producer's next batch (all of the turn's in one post).
  void network_loop() {
    std::vector<size_t> sends(_slots.size());
    for (size_t i = 0; i < _slots.size(); ++i) sends[i] = i;
    size_t outstanding = 0;
    std::vector<size_t> acks;
    for (;;) {
      if (!sends.empty()) {
        auto t0 = mono_clock::now();
        for (size_t i : sends) _slots[i].sent_at = t0;
        outstanding += sends.size();
        _to_owner.post_all(sends);
        sends.clear();
      }
      if (outstanding == 0) return;
      _to_network.take(acks);
      auto now = mono_clock::now();
      for (size_t i : acks) {
        ack_slot& s = _slots[i];
        --outstanding;
        s.latency_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.sent_at).count());
        ++s.acked;
        if (!_stop.load(std::memory_order_relaxed) && !_failed.any.load()) sends.push_back(i);
      }
      acks.clear();
    }
  }

  static void acknowledge(ack_slot& s) { s.acknowledge(); }

  // The partition's owner: takes whatever has been posted and appends it in arrival order
  // with one append_all (one gathered write for the turn), then arranges each
  // acknowledgement, which is posted back to the network loop.
  void owner_loop() {
    std::vector<size_t> taken;
    std::vector<mutable_bytes> batches;
    for (;;) {
      auto waiting = mono_clock::now();
      if (!_to_owner.take(taken)) return;
      _owner_idle_s += elapsed_s(waiting);
      batches.clear();
      for (size_t i : taken) batches.push_back(_slots[i].batch);
      auto results = _log->append_all(batches, wall_now());
      ++_turns;
      for (size_t k = 0; k < taken.size(); ++k) {
        size_t i = taken[k];
        auto& a = results[k];
        if (!a) {
          _failed.set(a.error().message());
          _stop.store(true);
          _to_network.post(i);
          continue;
        }
        _appended += a->size;
        if (_appended >= _cap) _stop.store(true);
        if (_policy == flush_policy::interval) {
          _to_network.post(i);
        } else {
          // For `os` this runs at once, here; for `always` on the flusher's worker whose
          // fdatasync covered the batch.
          _log->when_durable(a->next_offset, [this, i](status st, storage::durability) {
            if (!st) {
              _failed.set(st.error().message());
              _stop.store(true);
            }
            _to_network.post(i);
          });
        }
      }
      taken.clear();
    }
  }

  flush_policy _policy;
  std::vector<ack_slot> _slots;
  uint64_t _cap;
  double _rate;  // MB/s for the single producer (0: as fast as it goes)
  storage::partition_log* _log = nullptr;
  uint64_t _appended = 0;    // owner thread only
  uint64_t _turns = 0;       // owner thread only; read after it joined
  double _owner_idle_s = 0;  // owner thread only; read after it joined
  double _wall_s = 0;
  std::atomic<bool> _stop{false};
  failure_box _failed;
  mailbox _to_owner;    // batches to append (producer indexes, in arrival order)
  mailbox _to_network;  // acknowledgements (producer indexes)
};

// The experiment behind --zero-filled-segment (issue 2, segment preallocation): fdatasync of
// a write that overwrites blocks already written and synced needs no metadata (no new
// extent, no size change), and fio on this disk measured it at about half the time of an
// appending write's. Writing zeros over the new, empty segment file ahead of the whole case,
// and syncing them before the timed part, shows what a log that zero-filled its active
// segment ahead of the writes would gain at best (the zero-filling's own disk writes are not
// charged here). The log writes at its own end, not the file's, so it overwrites the zeros.
void zero_fill_segment(const options& o, const std::string& dir) {
  std::string path = dir + "/" + storage::segment_file_name(offset(0), ".log");
  raw_file f(path, O_WRONLY | O_CLOEXEC);
  static const byte_buffer zeros(mib);
  for (uint64_t pos = 0; pos < (o.size_mb + 32) * mib; pos += mib) {
    pwrite_all(f.fd(), zeros.data(), zeros.size(), pos);
  }
  if (::fdatasync(f.fd()) != 0) die(std::string("fdatasync: ") + std::strerror(errno));
}

case_result run_append_case(const options& o, io::filesystem& fs, const batch_shape& shape,
                            flush_policy policy, int appenders) {
  byte_buffer batch = test::make_batch(shape.records, value_size);
  std::string dir = o.dir + "/append-" + shape.name + "-" + storage::to_string(policy) + "-" +
                    std::to_string(appenders);
  check(fs.remove_all(dir), "remove old case folder");
  settle();
  case_result r;
  r.name = case_name(shape, policy, appenders);
  {
    // outlives the flusher
    append_run run(policy, appenders, batch, o.size_mb * mib, appenders == 1 ? o.rate_mb : 0);
    storage::flusher flusher;
    auto log =
        check(storage::partition_log::open(fs, dir, case_config(o, policy), flusher), "open log");
    if (o.zero_filled_segment) zero_fill_segment(o, dir);
    warm_page_cache(o);
    uint64_t syncs0 = flusher.syncs();
    auto sync_hist0 = storage::storage_metrics::get().fdatasync_micros.take_snapshot();
    double cpu0 = cpu_seconds();
    r.seconds = run.run(*log, o.seconds);
    r.cpu_s = cpu_seconds() - cpu0;
    r.syncs = flusher.syncs() - syncs0;
    // The case's own fdatasyncs: the global histogram's growth while it ran.
    auto sync_hist = storage::storage_metrics::get().fdatasync_micros.take_snapshot();
    for (size_t i = 0; i < sync_hist.buckets.size(); ++i) {
      sync_hist.buckets[i] -= sync_hist0.buckets[i];
    }
    sync_hist.count -= sync_hist0.count;
    r.sync_p50_us = static_cast<double>(sync_hist.quantile(0.5));
    r.sync_p90_us = static_cast<double>(sync_hist.quantile(0.9));
    r.sync_p99_us = static_cast<double>(sync_hist.quantile(0.99));
    r.sync_max_us = static_cast<double>(sync_hist.quantile(1.0));
    std::vector<int64_t> lat;
    for (auto& s : run.slots()) {
      r.batches += s.acked;
      lat.insert(lat.end(), s.latency_ns.begin(), s.latency_ns.end());
    }
    r.bytes = r.batches * batch.size();
    if (run.turns() > 0) {
      r.batches_per_turn = static_cast<double>(r.batches) / static_cast<double>(run.turns());
      r.owner_idle = run.owner_idle();
    }
    r.p50_us = percentile(lat, 0.5) / 1e3;
    r.p99_us = percentile(lat, 0.99) / 1e3;
    r.p90_us = percentile(lat, 0.9) / 1e3;
    r.p999_us = percentile(lat, 0.999) / 1e3;
    r.max_us = percentile(lat, 1.0) / 1e3;
    if (!lat.empty()) {
      r.mean_us =
          std::accumulate(lat.begin(), lat.end(), 0.0) / static_cast<double>(lat.size()) / 1e3;
    }
    // Closing syncs what the os and interval policies left in the page cache: not part of
    // the measurement, but it must finish before the next case starts.
    check(log->close(), "close log");
  }
  check(fs.remove_all(dir), "remove case folder");
  settle();
  if (policy == flush_policy::always) {
    r.floor_name = "W_seq";
    // B2: durable group-committed append with 16 producers.
    if (appenders >= 16) r.aim = 0.5;
    if (appenders >= 16 && shape.records == shapes[0].records) r.shape_floor_name = "W_gc16";
  } else {
    r.floor_name = "W_buf";
    // Buffered append: the producer never waits for the disk.
    r.aim = 0.8;
    if (shape.records == shapes[0].records) r.shape_floor_name = "W_buf16";
  }
  return r;
}

// Fills a log with `cap` bytes of batches (not timed), then reads it back from the start in
// 1 MiB fetches, whole passes for about `seconds`.
case_result run_read_case(const options& o, io::filesystem& fs, const batch_shape& shape) {
  byte_buffer batch = test::make_batch(shape.records, value_size);
  std::string dir = o.dir + "/read-" + shape.name;
  check(fs.remove_all(dir), "remove old case folder");
  settle();
  case_result r;
  r.name = std::string("read/") + shape.name;
  {
    storage::flusher flusher;
    auto log = check(
        storage::partition_log::open(fs, dir, case_config(o, flush_policy::os), flusher), "open");
    while (log->size_bytes() + batch.size() <= o.size_mb * mib) {
      check(log->append(batch, wall_now()), "append");
    }
    byte_buffer buf(mib + batch.size());
    std::vector<int64_t> lat;
    double cpu0 = cpu_seconds();
    auto start = mono_clock::now();
    do {
      offset from = log->log_start();
      while (from < log->log_end()) {
        auto t0 = mono_clock::now();
        auto rr = check(log->read(from, mib), "read");
        auto& sl = rr.slice;
        if (sl.size == 0) die("read returned nothing below the log end");
        auto n = check(sl.file->read_at(sl.position, mutable_bytes(buf.data(), sl.size)), "pread");
        if (n != sl.size) die("short read");
        // The next fetch starts after the last batch in this one, as a consumer's would.
        size_t pos = 0;
        offset next = from;
        while (pos < n) {
          auto h = storage::batch_header::parse(bytes_view(buf.data() + pos, n - pos));
          next = h.next_offset();
          pos += h.total_size();
          ++r.batches;
        }
        lat.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now() - t0).count());
        r.bytes += n;
        from = next;
      }
    } while (elapsed_s(start) < o.seconds);
    r.seconds = elapsed_s(start);
    r.cpu_s = cpu_seconds() - cpu0;
    r.p50_us = percentile(lat, 0.5) / 1e3;
    r.p99_us = percentile(lat, 0.99) / 1e3;
    check(log->close(), "close log");
  }
  check(fs.remove_all(dir), "remove case folder");
  settle();
  r.floor_name = "R_cache";
  return r;
}

// ---------------------------------------------------------------------------------------
// Free page reporting (virtio-balloon), which warm_page_cache works around: the guest tells the
// host which free pages it may take back, and a page allocated again afterwards faults on the
// host and is zeroed there first. The warm-up races the reporting, which on these VMs starts
// about two seconds after memory is freed (page_reporting's min_free_ms is 0): 1 GiB of 1 MiB
// pwrites ran at 5.5 GB/s right after a delete and at 0.35-0.64 GB/s ten seconds later, and at
// 4.2-5.6 GB/s either way with reporting stopped (order 10) (bench/RESULTS.md, session 13). So the
// bench prints how much the host took back during the run, and --pause-page-reporting stops the
// reporting (page_reporting_order above the largest buddy order, so that no free block
// qualifies) and restores the setting at exit.
struct page_reporting {
  static constexpr const char* order_path =
      "/sys/module/page_reporting/parameters/page_reporting_order";
  static constexpr const char* reported_path = "/sys/module/page_reporting/parameters/reported_kib";

  static std::optional<uint64_t> read_number(const char* path) {
    FILE* f = std::fopen(path, "r");
    if (!f) return std::nullopt;
    unsigned long long v = 0;
    bool ok = std::fscanf(f, "%llu", &v) == 1;
    std::fclose(f);
    if (!ok) return std::nullopt;
    return static_cast<uint64_t>(v);
  }
  static bool write_number(const char* path, uint64_t v) {
    FILE* f = std::fopen(path, "w");
    if (!f) return false;
    bool ok = std::fprintf(f, "%llu\n", static_cast<unsigned long long>(v)) > 0;
    // sysfs reports a rejected value when the buffer is written out.
    ok = (std::fclose(f) == 0) && ok;
    return ok;
  }

  // Restoring: the old value goes back at exit (die() exits too), on a fatal signal, and from
  // std::terminate, so that an interrupted run does not leave the VM's setting changed; and
  // only if the value is still the one this run wrote, so that a second run started meanwhile
  // (which took our value for the old one) is not undone under it. The signal handler may use
  // only async-signal-safe calls, hence the texts prepared before the setting is changed.
  static inline char saved_text[24] = {};  // the old value, "9\n"
  static inline size_t saved_len = 0;
  static inline char written_text[24] = {};  // ours, as the file reads it back
  static inline size_t written_len = 0;
  static inline volatile sig_atomic_t paused = 0;

  static void restore_raw() {
    if (!paused) return;
    paused = 0;
    char now[24];
    int fd = ::open(order_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = ::read(fd, now, sizeof now);
    if (n == static_cast<ssize_t>(written_len) &&
        std::memcmp(now, written_text, written_len) == 0) {
      n = ::pwrite(fd, saved_text, saved_len, 0);
    }
    (void)n;
    ::close(fd);
  }
  static void restore_on_signal(int sig) {
    restore_raw();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
  // Stops reporting: 11 is above the largest buddy order (10 on x86-64), so no free block
  // qualifies. Where the kernel refuses 11, 10 leaves only free 4 MiB blocks to report (none
  // were reported at 10 in a 40 s test here). Returns what it did, for the header.
  static std::string pause() {
    auto order = read_number(order_path);
    if (!order) return "not available here (no page_reporting module)";
    saved_len = static_cast<size_t>(std::snprintf(saved_text, sizeof saved_text, "%llu\n",
                                                  static_cast<unsigned long long>(*order)));
    std::atexit([] { restore_raw(); });
    std::set_terminate([] {
      restore_raw();
      std::abort();
    });
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGABRT}) {
      ::signal(sig, restore_on_signal);
    }
    for (uint64_t v : {11, 10}) {
      written_len = static_cast<size_t>(std::snprintf(written_text, sizeof written_text, "%llu\n",
                                                      static_cast<unsigned long long>(v)));
      paused = 1;  // before the write: a signal right after it must restore
      if (write_number(order_path, v)) {
        return "paused (page_reporting_order " + std::to_string(*order) + " -> " +
               std::to_string(v) + ", restored at exit)";
      }
      paused = 0;
    }
    return "could not be paused (writing " + std::string(order_path) + " failed: not root?)";
  }
};

// ---------------------------------------------------------------------------------------
// Report.

std::string shell_line(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return "?";
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void print_machine(const options& o, const std::string& reporting) {
  std::printf("# storage_bench\n\n");
  std::printf("date:      %s\n", shell_line("date -u '+%Y-%m-%d %H:%M UTC'").c_str());
  std::printf("machine:   %u cpus (%s), %s\n", std::thread::hardware_concurrency(),
              shell_line("sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1").c_str(),
              shell_line("uname -sr").c_str());
  std::printf("memory:    %s\n",
              shell_line("free -g | awk '/^Mem:/ {print $2 \" GiB total\"}'").c_str());
  std::printf("data dir:  %s\n", std::filesystem::absolute(o.dir).lexically_normal().c_str());
  std::printf("disk:      %s\n",
              shell_line("df -hT '" + o.dir + "' | awk 'NR==2 {print $1, $2, $3 \" size,\", $5 " +
                         "\" free, mounted on\", $7}'")
                  .c_str());
  std::printf("load:      %s (at the start)\n", shell_line("cat /proc/loadavg").c_str());
  std::printf("page reporting: %s\n", reporting.c_str());
  std::printf(
      "options:   --size-mb %" PRIu64 " --seconds %.1f --floor-seconds %.1f%s%s%s%s%s%s\n",
      o.size_mb, o.seconds, o.floor_seconds,
      o.filter.empty() ? "" : (" --filter " + o.filter).c_str(), o.fio ? "" : " --no-fio",
      o.page_cache_budget_mb == 0
          ? ""
          : (" --page-cache-budget-mb " + std::to_string(o.page_cache_budget_mb)).c_str(),
      o.write_behind_mb ? (" --write-behind-mb " + std::to_string(*o.write_behind_mb)).c_str() : "",
      o.append_ring_mb ? (" --append-ring-mb " + std::to_string(*o.append_ring_mb)).c_str() : "",
      o.rate_mb > 0 ? (" --rate-mb " + std::to_string(static_cast<int>(o.rate_mb))).c_str() : "");
  struct statfs sf {};
  if (::statfs(o.dir.c_str(), &sf) == 0 && sf.f_type == 0x01021994) {
    std::printf("WARNING: the data dir is on tmpfs; the disk floors measure memory\n");
  }
  std::printf("\n");
}

std::string fmt_opt(const std::optional<double>& v) {
  if (!v) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", *v);
  return b;
}

// The floor used for ratios is the higher of the two measurements (before and after the
// cases), so drift on the shared VM can only make a ratio look worse, never better.
floors best_of(const floors& a, const floors& b) {
  floors f;
  f.w_buf = std::max(a.w_buf, b.w_buf);
  f.w_buf_cpu = std::min(a.w_buf_cpu, b.w_buf_cpu);
  f.r_cache_cpu = std::min(a.r_cache_cpu, b.r_cache_cpu);
  f.r_cache = std::max(a.r_cache, b.r_cache);
  f.w_seq = std::max(a.w_seq, b.w_seq);
  f.w_sync64 = a.w_sync64.mb_s >= b.w_sync64.mb_s ? a.w_sync64 : b.w_sync64;
  f.w_buf16 = std::max(a.w_buf16, b.w_buf16);
  f.w_buf16_cpu = std::min(a.w_buf16_cpu, b.w_buf16_cpu);
  f.w_sync16x16 = a.w_sync16x16.mb_s >= b.w_sync16x16.mb_s ? a.w_sync16x16 : b.w_sync16x16;
  f.w_gc16 = a.w_gc16.mb_s >= b.w_gc16.mb_s ? a.w_gc16 : b.w_gc16;
  f.w_gc16w = a.w_gc16w.mb_s >= b.w_gc16w.mb_s ? a.w_gc16w : b.w_gc16w;
  return f;
}

void print_floors(const floors& before, const std::optional<floors>& after, const floors& used,
                  const fio_floors& fio, uint64_t size_mb) {
  std::printf("## Floors (MB = 10^6 bytes; measured in the data dir, %" PRIu64 " MiB files)\n\n",
              size_mb);
  std::printf("| floor       | %-46s | before MB/s | after MB/s | used MB/s | fio MB/s |\n",
              "what");
  std::printf("|-------------|%s|------------:|-----------:|----------:|---------:|\n",
              std::string(48, '-').c_str());
  auto row = [&](const char* name, const char* what, double b, std::optional<double> a, double u,
                 std::optional<double> f) {
    std::printf("| %-11s | %-46s | %11.0f | %10s | %9.0f | %8s |\n", name, what, b,
                fmt_opt(a).c_str(), u, fmt_opt(f).c_str());
  };
  auto after_v = [&](auto get) {
    return after ? std::optional<double>(get(*after)) : std::nullopt;
  };
  row("W_buf", "1 MiB sequential writes, no fsync (page cache)", before.w_buf,
      after_v([](const floors& f) { return f.w_buf; }), used.w_buf, fio.w_buf);
  row("W_seq", "1 MiB sequential writes + final fsync", before.w_seq,
      after_v([](const floors& f) { return f.w_seq; }), used.w_seq, fio.w_seq);
  row("W_sync64", "64 KiB write + fdatasync, one at a time", before.w_sync64.mb_s,
      after_v([](const floors& f) { return f.w_sync64.mb_s; }), used.w_sync64.mb_s, fio.w_sync64);
  row("R_cache", "1 MiB sequential preads of a cached file", before.r_cache,
      after_v([](const floors& f) { return f.r_cache; }), used.r_cache, std::nullopt);
  char what[64];
  std::snprintf(what, sizeof what, "%zu-byte sequential writes, no fsync", batch_16k_size());
  row("W_buf16", what, before.w_buf16, after_v([](const floors& f) { return f.w_buf16; }),
      used.w_buf16, std::nullopt);
  std::snprintf(what, sizeof what, "16 writers x (%zu-byte write + fdatasync)", batch_16k_size());
  row("W_sync16x16", what, before.w_sync16x16.mb_s,
      after_v([](const floors& f) { return f.w_sync16x16.mb_s; }), used.w_sync16x16.mb_s,
      std::nullopt);
  std::snprintf(what, sizeof what, "%zu-byte write + fdatasync, one at a time",
                16 * batch_16k_size());
  row("W_gc16", what, before.w_gc16.mb_s, after_v([](const floors& f) { return f.w_gc16.mb_s; }),
      used.w_gc16.mb_s, std::nullopt);
  row("W_gc16w", "the same over written blocks (reference)", before.w_gc16w.mb_s,
      after_v([](const floors& f) { return f.w_gc16w.mb_s; }), used.w_gc16w.mb_s, std::nullopt);
  auto syncs = [](const sync_floor& f) {
    char b[96];
    std::snprintf(b, sizeof b, "%.0f syncs/s, p50 %.0f us", f.syncs_s, f.p50_us);
    return std::string(b);
  };
  std::printf("\nW_sync64: %s before%s\n", syncs(before.w_sync64).c_str(),
              after ? ("; " + syncs(after->w_sync64) + " after").c_str() : "");
  std::printf("W_sync16x16: %s before%s\n", syncs(before.w_sync16x16).c_str(),
              after ? ("; " + syncs(after->w_sync16x16) + " after").c_str() : "");
  std::printf("W_gc16: %s before%s\n", syncs(before.w_gc16).c_str(),
              after ? ("; " + syncs(after->w_gc16) + " after").c_str() : "");
  std::printf("W_gc16w: %s before%s\n", syncs(before.w_gc16w).c_str(),
              after ? ("; " + syncs(after->w_gc16w) + " after").c_str() : "");
  std::printf(
      "CPU per MB: W_buf %.0f us before%s; W_buf16 %.0f us before%s; R_cache %.0f us "
      "before%s\n",
      before.w_buf_cpu, after ? (", " + fmt_opt(after->w_buf_cpu) + " after").c_str() : "",
      before.w_buf16_cpu, after ? (", " + fmt_opt(after->w_buf16_cpu) + " after").c_str() : "",
      before.r_cache_cpu, after ? (", " + fmt_opt(after->r_cache_cpu) + " after").c_str() : "");
  std::printf(
      "W_buf16, W_sync16x16 and W_gc16 are the 16 KiB cases' own I/O without the log: the bare\n"
      "writes of one batch's size (not page-aligned, as no Kafka batch is), one at a time; 16\n"
      "writers that each append one such batch and fdatasync it themselves (the naive log); and\n"
      "one writer that appends sixteen batches' bytes and fdatasyncs, over and over (a group\n"
      "commit of the 16k/always/16 round with no other work: that case's ceiling on this disk,\n"
      "less what overlapping two syncs adds). W_gc16w repeats W_gc16 over blocks written before,\n"
      "inside the file's size, so its fdatasyncs record no size or extent: the part of W_gc16's\n"
      "sync that is the file system's metadata. The aims are set against W_buf and W_seq; the\n"
      "detail table below also sets each 16 KiB case beside its own shape.\n");
  std::printf("Ratios below use the higher of before/after for each floor (\"used\").\n\n");
}

void print_results(const std::vector<case_result>& results) {
  std::printf("## Results\n\n");
  std::printf(
      "| case                   |    MB/s | batches/s | batches/turn | syncs/s | batches/sync | "
      "sync p50 us | p50 "
      "us "
      "|  p99 us | cpu %% | cpu us/MB | floor MB/s    | ratio | aim    | verdict |\n");
  std::printf(
      "|------------------------|--------:|----------:|-------------:|--------:|-------------:|"
      "------------:|-----"
      "--:"
      "|--------:|------:|----------:|---------------|------:|--------|---------|\n");
  for (auto& r : results) {
    double mbs = static_cast<double>(r.bytes) / r.seconds / mb;
    double bps = static_cast<double>(r.batches) / r.seconds;
    double sps = static_cast<double>(r.syncs) / r.seconds;
    double ratio = r.floor_mb_s > 0 ? mbs / r.floor_mb_s : 0;
    char per_sync[32] = "-";
    if (r.syncs > 0) {
      std::snprintf(per_sync, sizeof per_sync, "%.1f",
                    static_cast<double>(r.batches) / static_cast<double>(r.syncs));
    }
    char per_turn[32] = "-";
    if (r.batches_per_turn > 0)
      std::snprintf(per_turn, sizeof per_turn, "%.1f", r.batches_per_turn);
    char sync_p50[32] = "-";
    if (r.syncs > 0) std::snprintf(sync_p50, sizeof sync_p50, "%.0f", r.sync_p50_us);
    char floor[32];
    std::snprintf(floor, sizeof floor, "%s %.0f", r.floor_name, r.floor_mb_s);
    char aim[16] = "-";
    const char* verdict = "-";
    if (r.aim) {
      std::snprintf(aim, sizeof aim, ">= %.1f", *r.aim);
      verdict = ratio >= *r.aim ? "met" : "MISSED";
    }
    std::printf(
        "| %-22s | %7.0f | %9.0f | %12s | %7.*f | %12s | %11s | %6.0f | %7.0f | %5.0f | %9.0f | "
        "%-13s "
        "| %5.2f | %-6s | %-7s |\n",
        r.name.c_str(), mbs, bps, per_turn, sps < 10 ? 1 : 0, sps, per_sync, sync_p50, r.p50_us,
        r.p99_us, 100 * r.cpu_s / r.seconds, r.cpu_s * 1e6 / (static_cast<double>(r.bytes) / mb),
        floor, ratio, aim, verdict);
  }
  std::printf(
      "\nMB/s and batches/s count acknowledged batches (whole RecordBatch bytes). syncs/s are "
      "the\nflusher's fdatasyncs; batches/turn is per append_all of the owner (one pwritev) with "
      "16\nproducers; sync p50 is the fdatasyncs' median duration (histogram bucket, at most "
      "12.5 %%\nhigh). p50/p99 are per batch: producer hand-off to acknowledgement (append "
      "cases; closed\nloop, one request in flight per producer) or one fetch + copy "
      "(read cases).\ncpu %% is process CPU (all threads) over wall time (200 %% = both cores); "
      "cpu us/MB is\nthat CPU per MB moved, to set beside W_buf's.\n");
}

// Latency spread and the 16 KiB cases against their own shape (append cases only).
void print_detail(const std::vector<case_result>& results) {
  std::printf("\n## Detail (append cases)\n\n");
  std::printf(
      "| case                   | ack mean us | ack p90 us | ack p99.9 us | ack max us | sync p90 "
      "us | sync p99 us | sync max us | owner idle %% | shape floor MB/s   | ratio to it |\n");
  std::printf(
      "|------------------------|------------:|-----------:|-------------:|-----------:|---------"
      "---:|------------:|------------:|-------------:|--------------------|------------:|\n");
  for (auto& r : results) {
    if (r.name.rfind("append/", 0) != 0) continue;
    double mbs = static_cast<double>(r.bytes) / r.seconds / mb;
    auto us = [](double v, bool have) {
      char b[32] = "-";
      if (have) std::snprintf(b, sizeof b, "%.0f", v);
      return std::string(b);
    };
    char shape[48] = "-";
    char ratio[16] = "-";
    if (r.shape_floor_mb_s > 0) {
      std::snprintf(shape, sizeof shape, "%s %.0f", r.shape_floor_name, r.shape_floor_mb_s);
      std::snprintf(ratio, sizeof ratio, "%.2f", mbs / r.shape_floor_mb_s);
    }
    bool synced = r.syncs > 0;
    char idle[16] = "-";
    if (r.owner_idle >= 0) std::snprintf(idle, sizeof idle, "%.0f", 100 * r.owner_idle);
    std::printf(
        "| %-22s | %11.0f | %10.0f | %12.0f | %10.0f | %11s | %11s | %11s | %12s | %-18s | %11s "
        "|\n",
        r.name.c_str(), r.mean_us, r.p90_us, r.p999_us, r.max_us, us(r.sync_p90_us, synced).c_str(),
        us(r.sync_p99_us, synced).c_str(), us(r.sync_max_us, synced).c_str(), idle, shape, ratio);
  }
  std::printf(
      "\nWith one request in flight per producer, MB/s = bytes in flight / mean acknowledgement,\n"
      "so the mean, not the p50, sets a durable case's rate, and a few slow fdatasyncs (every\n"
      "producer waits on them) cost in proportion to their share of it. The sync columns are\n"
      "histogram buckets (at most 12.5 %% high). owner idle is the share of a 16-producer\n"
      "case's wall time its owner thread waited for posts: under os and interval, time the\n"
      "closed loop's hand-offs left the log with nothing to do; under always, mostly the\n"
      "wait for the fdatasync that acknowledges a turn, which is the log's own work.\n");
}

std::vector<std::string> name_parts(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      if (i > start) parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Whole name parts, not a substring, so that append/16k/os/1 does not also select
// append/16k/os/16.
bool selected(const options& o, const std::string& name) {
  if (o.floors_only) return false;
  auto want = name_parts(o.filter);
  if (want.empty()) return true;
  auto have = name_parts(name);
  return std::search(have.begin(), have.end(), want.begin(), want.end()) != have.end();
}

int run(const options& o) {
  std::filesystem::create_directories(o.dir);
  storage::partition_log::set_page_cache_budget(o.page_cache_budget_mb << 20);
  std::string reporting =
      "none (no page_reporting module: the host does not take back free memory)";
  if (o.pause_page_reporting) {
    reporting = page_reporting::pause();
  } else if (auto order = page_reporting::read_number(page_reporting::order_path);
             order && *order > 10) {
    reporting = "off (order " + std::to_string(*order) + ": above the largest, no block qualifies)";
  } else if (order) {
    reporting = "on (order " + std::to_string(*order) +
                "): the host takes back free memory, and the next write into it costs more; "
                "see the end of the report, and --pause-page-reporting";
  }
  auto reported_before = page_reporting::read_number(page_reporting::reported_path);
  print_machine(o, reporting);
  std::fflush(stdout);

  std::fprintf(stderr, "measuring floors\n");
  floors before = measure_floors(o);
  fio_floors fio = measure_fio(o);

  io::posix_filesystem fs;
  std::vector<case_result> results;
  for (auto& shape : shapes) {
    for (auto policy : {flush_policy::always, flush_policy::interval, flush_policy::os}) {
      for (int appenders : {1, 16}) {
        if (!selected(o, case_name(shape, policy, appenders))) continue;
        std::fprintf(stderr, "running %s\n", case_name(shape, policy, appenders).c_str());
        results.push_back(run_append_case(o, fs, shape, policy, appenders));
      }
    }
  }
  for (auto& shape : shapes) {
    if (!selected(o, std::string("read/") + shape.name)) continue;
    std::fprintf(stderr, "running read/%s\n", shape.name);
    results.push_back(run_read_case(o, fs, shape));
  }

  // The floors again, so drift during the run shows; ratios use the higher of the two.
  std::optional<floors> after;
  if (!results.empty()) {
    std::fprintf(stderr, "measuring floors again\n");
    after = measure_floors(o);
  }
  floors used = after ? best_of(before, *after) : before;
  for (auto& r : results) {
    if (std::string(r.floor_name) == "W_seq") r.floor_mb_s = used.w_seq;
    if (std::string(r.floor_name) == "W_buf") r.floor_mb_s = used.w_buf;
    if (std::string(r.floor_name) == "R_cache") r.floor_mb_s = used.r_cache;
    if (std::string(r.shape_floor_name) == "W_buf16") r.shape_floor_mb_s = used.w_buf16;
    if (std::string(r.shape_floor_name) == "W_gc16") r.shape_floor_mb_s = used.w_gc16.mb_s;
  }

  std::printf("load:      %s (at the end; other processes on these cores skew every figure)\n",
              shell_line("cat /proc/loadavg").c_str());
  if (auto after_kib = page_reporting::read_number(page_reporting::reported_path);
      after_kib && reported_before) {
    std::printf("page reporting: %" PRIu64
                " MiB of free memory handed back to the host during the run\n",
                (*after_kib - *reported_before) >> 10);
  }
  std::printf("\n");
  print_floors(before, after, used, fio, o.size_mb);
  if (!results.empty()) {
    print_results(results);
    print_detail(results);
  }
  std::filesystem::remove_all(o.dir);
  return 0;
}

}  // namespace
}  // namespace spate::bench

int main(int argc, char** argv) {
  auto o = spate::bench::parse_args(argc, argv);
  if (!o) {
    spate::bench::usage();
    return 2;
  }
  return spate::bench::run(*o);
}
