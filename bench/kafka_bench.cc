// kafka_bench: the broker under Kafka client load, OMB-style, printed as ratios to the
// machine's own floors measured in the same run (performance.md targets B1-B7; conventions.md
// §14: a 2-core shared VM drifts 10-20 % run to run, so only a ratio means anything).
//
//   build/kbench/bench/kafka_bench                  # floors + B1-B7, about 2 minutes
//   build/kbench/bench/kafka_bench --cases B4,B5 --seconds 20
//
// The program starts `spate broker` itself (fork/exec; a fresh data folder under --dir per
// case, the flush policy the case needs, --port 0) and drives it with librdkafka clients in
// this process. Broker CPU comes from /proc/<pid>/stat (utime+stime of all its threads) and
// RSS from /proc/<pid>/status; client CPU is this process's getrusage (producer, consumer and
// librdkafka threads together).
//
// Floors:
//   BW_tcp  iperf3 -s -B 127.0.0.1 + iperf3 -c 127.0.0.1 -t 5 -J: one loopback TCP stream
//   RTT     1 KiB TCP ping-pong over loopback in this process: p50 of the full round trip
//   W_seq   sequential 1 MiB pwrites of --wseq-mb + one fsync, in --dir (the broker's disk)
//   W_buf   the same pwrites alone (page-cache write rate: the ceiling of B1 under `os`)
//   F_sync  1 KiB appending pwrite + fdatasync, one at a time, in --dir: p50 of the fdatasync
//
// Cases (each against a fresh broker; 1 KiB values, no key, no compression):
//   B1  produce at full speed, linger.ms=5, acks=1, broker --flush-policy os
//   B2  the same with acks=all, broker --flush-policy always (fdatasync, group commit)
//   B3  B1's producer paced at 0.7 x B1's rate (the target; --b3-rate), plus a consumer in
//       this process tailing every partition; consumer rate and lag once a second
//   B4  end-to-end latency at a fixed --rate (10 k msgs/s), linger.ms=0, acks=1: sends follow
//       a fixed timeline and each value carries its intended send time, so latency is
//       measured from when the message should have been sent (coordinated omission
//       corrected); the consumer in this process records receive - intended
//   B5  B4 with acks=all against --flush-policy always; the ack latency (delivery report -
//       intended) is printed too, since only it includes the fdatasync
//   B6  broker CPU per record, from B1 (B2 and B3 printed beside it)
//   M16 (only with --cases M16) B2's workload from 16 producers at once, each its own
//       connection, sharing B2's client-side queue budget: group commit and gathered
//       appends across connections
//   B7  idle RSS of a fresh broker; max RSS while producing and tailing 100 partitions
//   B8  (only when asked for: it writes --b8-gb of log) start-up on a large log: fills
//       --b8-gb GB into --partitions partitions (acks=1, `os`), then restarts the broker on
//       that folder after a clean stop (SIGTERM) and again after a SIGKILL, each time with the
//       page cache dropped first when this process may (root). Reports the time from exec to
//       the broker's "ready" line, and to the moment a consumer holds the last record of
//       every partition (Metadata, ListOffsets, an index lookup and a Fetch at the log end).
//
// Each case warms up for --warmup seconds, then measures a window of --seconds. For profiling,
// --attach runs a command while the window is open ({pid} = the broker, {case} = its id), e.g.
//   --attach 'perf record -g -p {pid} -o perf.{case}.data -- sleep 8'
// and --wrap prefixes the broker's command line, e.g.
//   --wrap 'valgrind --tool=callgrind --callgrind-out-file=cg.{case}.out'
//
// Threading: the main thread produces; one thread serves the producer's delivery reports
// (rd_kafka_poll), one consumes, one samples the broker's RSS; librdkafka adds its own.
#include <arpa/inet.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fd_io.h"

#ifndef SPATE_BINARY
#define SPATE_BINARY ""
#endif

namespace spate::bench {
namespace {

using spate::bench::read_full;
using spate::bench::write_full;

namespace fs = std::filesystem;

// MB is 10^6 bytes throughout, floors and results alike.
constexpr double mb = 1e6;
constexpr size_t value_size = 1024;
const std::string topic_name = "bench";

// Peer figure of performance.md: Redis 7.0 Streams, XADD pipelined, fsync always.
constexpr double redis_fsync_always_msgs = 127e3;

struct options {
  std::string spate = SPATE_BINARY;
  std::string dir = "./kafka_bench.data";
  double seconds = 10;        // measured window per case
  double warmup = 1;          // before the window, not measured
  int partitions = 8;         // B1-B5
  int load_partitions = 100;  // B7
  int cores = 0;              // broker --cores; 0: its default (hardware threads but one)
  double rate = 10000;        // B4/B5 messages per second
  double b3_rate = 0;         // B3 producer pace; 0: 0.7 x B1's rate (full speed if no B1)
  double b8_gb = 10;          // B8 log size, GB (10^9 bytes of values)
  uint64_t wseq_mb = 1024;
  double iperf_seconds = 5;
  std::vector<std::string> cases = {"B1", "B2", "B3", "B4", "B5", "B7"};
  std::string attach;               // command run while a window is open
  std::string wrap;                 // prefix of the broker command line
  uint64_t page_cache_mb = 0;       // > 0: the broker runs in a memory cgroup this large
  std::string broker_args;          // appended to the broker command line
  std::string producer_config;      // extra librdkafka producer settings, k=v,k=v
  std::string b5_flush = "always";  // B5 variants, for experiments
  std::string b5_acks = "all";
  bool iperf = true;
  bool floors_only = false;
  bool keep = false;  // keep the broker data folders and logs
};

void usage() {
  std::printf(
      "usage: kafka_bench [--spate PATH] [--dir DIR] [--seconds S] [--warmup S]\n"
      "                   [--cases B1,B2,B3,B4,B5,B7] [--partitions N] [--load-partitions N]\n"
      "                   [--cores N] [--rate R] [--b3-rate R] [--b8-gb G] [--wseq-mb N]\n"
      "                   [--iperf-seconds S] [--no-iperf]\n"
      "                   [--floors-only] [--attach CMD] [--wrap CMD] [--broker-args ARGS]\n"
      "                   [--page-cache-mb N] [--keep]\n"
      "  --spate            the spate binary (default: the one built beside this program)\n"
      "  --dir              where broker data folders and the disk floor files go; on the\n"
      "                     disk under test, not tmpfs (default ./kafka_bench.data; removed)\n"
      "  --seconds          measured window per case (default 10)\n"
      "  --warmup           unmeasured time before each window (default 1)\n"
      "  --cases            which cases to run (default all but B8 and M16; B6 comes from\n"
      "                     B1); M16: B2's workload from 16 producers at once\n"
      "  --partitions       partitions of the topic in B1-B5 (default 8)\n"
      "  --load-partitions  partitions in B7 (default 100)\n"
      "  --cores            broker --cores (default: the broker's default)\n"
      "  --rate             B4/B5 messages per second (default 10000)\n"
      "  --b3-rate          B3 producer messages per second (default 0.7 x B1's rate, the\n"
      "                     target; full speed if B1 did not run)\n"
      "  --b8-gb            B8: GB of log to start up on (default 10; needs that much disk)\n"
      "  --wseq-mb          size of the W_seq floor file (default 1024)\n"
      "  --attach CMD       run CMD (sh -c) while each window is open; {pid} and {case} are\n"
      "                     replaced by the broker's pid and the case id\n"
      "  --wrap CMD         prefix the broker command line with CMD ({case} replaced)\n"
      "  --page-cache-mb N  run the broker in a memory cgroup of N MB (cgroup v2 or v1), so\n"
      "                     that its page cache stays full and is recycled, as on a broker\n"
      "                     that has run for a while (see bench/README.md: on these VMs a\n"
      "                     page cache that grows into untouched memory costs a host fault\n"
      "                     per page); default 0: no cgroup\n"
      "  --broker-args ARGS extra broker flags, e.g. '--segment-bytes 268435456'\n"
      "  --b5-flush P, --b5-acks A  B5 variants for experiments (default always, all)\n"
      "  --producer-config K=V,...  extra librdkafka producer settings (applied last)\n"
      "  --keep             keep broker data folders and logs under --dir\n");
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::optional<options> parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    auto number = [&](double& out) {
      auto v = value();
      if (!v) return false;
      char* end = nullptr;
      out = std::strtod(v->c_str(), &end);
      return end && *end == '\0';
    };
    double n = 0;
    bool good = true;
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--spate") {
      auto v = value();
      good = v.has_value();
      if (good) o.spate = *v;
    } else if (a == "--dir") {
      auto v = value();
      good = v.has_value();
      if (good) o.dir = *v;
    } else if (a == "--attach") {
      auto v = value();
      good = v.has_value();
      if (good) o.attach = *v;
    } else if (a == "--producer-config") {
      auto v = value();
      good = v.has_value();
      if (good) o.producer_config = *v;
    } else if (a == "--b5-flush") {
      auto v = value();
      good = v.has_value();
      if (good) o.b5_flush = *v;
    } else if (a == "--b5-acks") {
      auto v = value();
      good = v.has_value();
      if (good) o.b5_acks = *v;
    } else if (a == "--broker-args") {
      auto v = value();
      good = v.has_value();
      if (good) o.broker_args = *v;
    } else if (a == "--wrap") {
      auto v = value();
      good = v.has_value();
      if (good) o.wrap = *v;
    } else if (a == "--cases") {
      auto v = value();
      good = v.has_value();
      if (good) o.cases = split(*v, ',');
    } else if (a == "--seconds") {
      good = number(o.seconds) && o.seconds > 0;
    } else if (a == "--warmup") {
      good = number(o.warmup) && o.warmup >= 0;
    } else if (a == "--rate") {
      good = number(o.rate) && o.rate > 0;
    } else if (a == "--b8-gb") {
      good = number(o.b8_gb) && o.b8_gb > 0;
    } else if (a == "--b3-rate") {
      good = number(o.b3_rate) && o.b3_rate >= 0;
    } else if (a == "--iperf-seconds") {
      good = number(o.iperf_seconds) && o.iperf_seconds >= 1;
    } else if (a == "--partitions") {
      good = number(n) && n >= 1;
      o.partitions = static_cast<int>(n);
    } else if (a == "--load-partitions") {
      good = number(n) && n >= 1;
      o.load_partitions = static_cast<int>(n);
    } else if (a == "--cores") {
      good = number(n) && n >= 0;
      o.cores = static_cast<int>(n);
    } else if (a == "--wseq-mb") {
      good = number(n) && n >= 1;
      o.wseq_mb = static_cast<uint64_t>(n);
    } else if (a == "--no-iperf") {
      o.iperf = false;
    } else if (a == "--floors-only") {
      o.floors_only = true;
    } else if (a == "--page-cache-mb") {
      double mb = 0;
      good = number(mb) && mb >= 64;
      if (good) o.page_cache_mb = static_cast<uint64_t>(mb);
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      good = false;
    }
    if (!good) {
      std::fprintf(stderr, "kafka_bench: bad or incomplete argument '%s'\n", a.c_str());
      usage();
      return std::nullopt;
    }
  }
  if (o.spate.empty()) {
    std::fprintf(stderr, "kafka_bench: no spate binary; pass --spate PATH\n");
    return std::nullopt;
  }
  return o;
}

bool selected(const options& o, const std::string& id) {
  return std::find(o.cases.begin(), o.cases.end(), id) != o.cases.end();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleep_until_ns(int64_t t) {
  timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

double client_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime + stime of every thread of `pid`, in seconds (fields 14 and 15 of /proc/<pid>/stat).
double proc_cpu_seconds(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto paren = s.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(s.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Key:   123 kB" line of /proc/<pid>/status, in kB; 0 if absent.
uint64_t proc_status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0) {
      return std::strtoull(line.c_str() + key.size(), nullptr, 10);
    }
  }
  return 0;
}

// Context switches (voluntary + involuntary) of every thread of `pid`.
uint64_t proc_context_switches(pid_t pid) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        total += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      }
    }
  }
  return total;
}

std::string load_average() {
  std::string s = read_text("/proc/loadavg");
  auto parts = split(s, ' ');
  if (parts.size() < 3) return "?";
  return parts[0] + " " + parts[1] + " " + parts[2];
}

// Percentile q (0..1) of sorted samples, nearest rank.
int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

struct latency_summary {
  size_t count = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

latency_summary summarize(std::vector<int64_t> ns) {
  std::sort(ns.begin(), ns.end());
  latency_summary s;
  s.count = ns.size();
  s.p50_us = static_cast<double>(percentile(ns, 0.5)) / 1e3;
  s.p99_us = static_cast<double>(percentile(ns, 0.99)) / 1e3;
  s.p999_us = static_cast<double>(percentile(ns, 0.999)) / 1e3;
  s.max_us = ns.empty() ? 0 : static_cast<double>(ns.back()) / 1e3;
  return s;
}

// --- floors -------------------------------------------------------------------------------

struct floors {
  double bw_tcp = 0;  // bytes/s; 0 if not measured
  latency_summary rtt;
  double w_seq = 0;  // bytes/s
  double w_buf = 0;  // bytes/s
  latency_summary fsync;
};

// A listening socket on 127.0.0.1 with a kernel-chosen port.
int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 4) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// 1 KiB ping-pong over loopback TCP, an echo thread on the other end: full round trips.
latency_summary measure_rtt(double seconds) {
  uint16_t port = 0;
  int ls = listen_loopback(port);
  if (ls < 0) return {};
  std::thread echo([ls] {
    int c = ::accept(ls, nullptr, nullptr);
    if (c < 0) return;
    set_nodelay(c);
    char buf[value_size];
    while (read_full(c, buf, sizeof buf) && write_full(c, buf, sizeof buf)) {
    }
    ::close(c);
  });
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::vector<int64_t> samples;
  if (s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    set_nodelay(s);
    char buf[value_size];
    std::memset(buf, 'r', sizeof buf);
    for (int i = 0; i < 1000; ++i) {  // warm-up
      if (!write_full(s, buf, sizeof buf) || !read_full(s, buf, sizeof buf)) break;
    }
    int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
    samples.reserve(200000);
    for (int64_t t = now_ns(); t < end; t = now_ns()) {
      if (!write_full(s, buf, sizeof buf) || !read_full(s, buf, sizeof buf)) break;
      samples.push_back(now_ns() - t);
    }
  }
  if (s >= 0) ::close(s);
  echo.join();
  ::close(ls);
  return summarize(std::move(samples));
}

// Sequential 1 MiB pwrites + one fsync, timed together: the disk's sustained write rate
// (W_seq). The pwrites alone give the page-cache write rate (W_buf).
void measure_w_seq(const std::string& dir, uint64_t size_mb, floors& f) {
  std::string path = dir + "/w_seq.tmp";
  ::sync();
  // One unmeasured pass first: on these VMs the guest's first touch of page-cache memory is
  // slow, and the floor should not pay for it (storage_bench does the same).
  if (int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644); fd >= 0) {
    std::vector<char> warm(1 << 20, 'w');
    for (uint64_t i = 0; i < size_mb; ++i) {
      if (::pwrite(fd, warm.data(), warm.size(), static_cast<off_t>(i * warm.size())) < 0) break;
    }
    ::fsync(fd);
    ::close(fd);
    ::unlink(path.c_str());
  }
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return;
  std::vector<char> buf(1 << 20);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 7 + 13);
  int64_t began = now_ns();
  bool good = true;
  for (uint64_t i = 0; i < size_mb && good; ++i) {
    good = ::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(i * buf.size())) ==
           static_cast<ssize_t>(buf.size());
  }
  int64_t written = now_ns();
  good = good && ::fsync(fd) == 0;
  int64_t took = now_ns() - began;
  ::close(fd);
  ::unlink(path.c_str());
  if (!good) return;
  f.w_buf = static_cast<double>(size_mb << 20) / (static_cast<double>(written - began) / 1e9);
  f.w_seq = static_cast<double>(size_mb << 20) / (static_cast<double>(took) / 1e9);
}

// 1 KiB appending pwrite + fdatasync, one at a time; the fdatasync alone is timed. This is what
// one acks=all produce of one small batch waits for under --flush-policy always.
latency_summary measure_fsync(const std::string& dir, double seconds) {
  std::string path = dir + "/fsync.tmp";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return {};
  char buf[value_size];
  std::memset(buf, 'f', sizeof buf);
  std::vector<int64_t> samples;
  int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
  for (off_t off = 0; now_ns() < end && samples.size() < 20000; off += sizeof buf) {
    if (::pwrite(fd, buf, sizeof buf, off) != static_cast<ssize_t>(sizeof buf)) break;
    int64_t t = now_ns();
    if (::fdatasync(fd) != 0) break;
    samples.push_back(now_ns() - t);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return summarize(std::move(samples));
}

// A memory cgroup for the broker (--page-cache-mb): its page cache then stays at the limit and
// is recycled by reclaim, as on a broker that has run for a while, instead of growing into
// memory the guest has not touched lately. On these VMs that memory was handed back to the
// host (free page reporting), and every first touch of a page costs a host fault: `dd` of 6 GB
// into such memory ran at 0.70-0.77 GB/s against 1.8 GB/s into memory freed just before
// (bench/RESULTS.md). cgroup v2 if the memory controller is enabled there, else v1; removed at
// exit (a v1 cgroup's remaining page cache moves to its parent).
class memory_cgroup {
 public:
  explicit memory_cgroup(uint64_t mb) {
    std::string name = "spate-kafka-bench-" + std::to_string(::getpid());
    std::string bytes = std::to_string(mb << 20);
    // v2 only where the root hands the memory controller down to its children.
    if (read_text("/sys/fs/cgroup/cgroup.subtree_control").find("memory") != std::string::npos) {
      try_make("/sys/fs/cgroup/" + name, "memory.max", bytes);
    }
    if (_dir.empty() && fs::is_directory("/sys/fs/cgroup/memory")) {
      try_make("/sys/fs/cgroup/memory/" + name, "memory.limit_in_bytes", bytes);
    }
    if (_dir.empty()) {
      std::fprintf(stderr,
                   "kafka_bench: --page-cache-mb: cannot create a memory cgroup (needs root and a "
                   "cgroup v2 memory controller or a v1 memory hierarchy under /sys/fs/cgroup)\n");
      std::exit(2);  // before any broker started
    }
    _procs = _dir + "/cgroup.procs";
  }
  ~memory_cgroup() { remove(); }
  // Removes the cgroup (the broker must have exited); also called by die().
  void remove() const {
    if (!_dir.empty() && ::rmdir(_dir.c_str()) != 0 && errno != ENOENT) {
      std::fprintf(stderr, "kafka_bench: could not remove %s: %s\n", _dir.c_str(),
                   std::strerror(errno));
    }
  }
  memory_cgroup(const memory_cgroup&) = delete;
  memory_cgroup& operator=(const memory_cgroup&) = delete;
  const std::string& procs() const { return _procs; }
  const std::string& dir() const { return _dir; }

 private:
  void try_make(const std::string& dir, const std::string& limit_file, const std::string& bytes) {
    if (::mkdir(dir.c_str(), 0755) != 0) return;
    std::ofstream limit(dir + "/" + limit_file);
    limit << bytes;
    limit.flush();
    if (!limit) {
      ::rmdir(dir.c_str());
      return;
    }
    _dir = dir;
  }
  std::string _dir;
  std::string _procs;
};

// Set while the broker is to run in a memory cgroup (main); read by broker_process.
const memory_cgroup* broker_cgroup = nullptr;

// Runs argv (execvp) with stdout and stderr sent to `log_path` (or /dev/null if empty), in the
// cgroup whose cgroup.procs file is `cgroup_procs`, if given.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path,
            const std::string& cgroup_procs = {}) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Truncated here, before the fork: whoever reads the log next must not see an older run's.
  const char* out = log_path.empty() ? "/dev/null" : log_path.c_str();
  int fd = ::open(out, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  const char* procs = cgroup_procs.empty() ? nullptr : cgroup_procs.c_str();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (procs) {  // only async-signal-safe calls between fork and exec
      int c = ::open(procs, O_WRONLY | O_CLOEXEC);
      if (c < 0 || ::write(c, "0", 1) != 1) {
        static const char msg[] = "kafka_bench: could not join the broker's memory cgroup\n";
        (void)!::write(2, msg, sizeof msg - 1);
        _exit(126);
      }
      ::close(c);
    }
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  if (fd >= 0) ::close(fd);
  return pid;
}

// Waits for `pid` up to `seconds`; then sends `sig` and waits again, then SIGKILL. Returns the
// wait status.
int reap(pid_t pid, double seconds, int sig) {
  int st = 0;
  int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
  for (;;) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || r < 0) return st;
    if (now_ns() >= end) break;
    sleep_s(0.01);
  }
  ::kill(pid, sig);
  end = now_ns() + static_cast<int64_t>(10e9);
  for (;;) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || r < 0) return st;
    if (now_ns() >= end) break;
    sleep_s(0.01);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &st, 0);
  return st;
}

// iperf3 over loopback, one stream: received bits/s of the client's JSON report, as bytes/s.
double measure_bw_tcp(double seconds) {
  uint16_t port = 0;
  int probe = listen_loopback(port);  // a free port, released just before iperf3 takes it
  if (probe < 0) return 0;
  ::close(probe);
  std::string p = std::to_string(port);
  pid_t server = spawn({"iperf3", "-s", "-B", "127.0.0.1", "-p", p, "-1"}, "");
  double bps = 0;
  for (int attempt = 0; attempt < 20 && bps == 0; ++attempt) {
    sleep_s(0.2);
    std::string cmd = "iperf3 -c 127.0.0.1 -p " + p + " -t " +
                      std::to_string(static_cast<int>(seconds)) + " -J 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) break;
    std::string json;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) json.append(buf, n);
    ::pclose(f);
    auto at = json.find("\"sum_received\"");
    if (at == std::string::npos) continue;  // not listening yet
    at = json.find("\"bits_per_second\":", at);
    if (at == std::string::npos) continue;
    bps = std::strtod(json.c_str() + at + std::strlen("\"bits_per_second\":"), nullptr);
  }
  reap(server, 2, SIGTERM);
  return bps / 8;
}

// --- the broker process -------------------------------------------------------------------

// The broker of the case in progress, for die() to stop.
std::atomic<pid_t> running_broker{-1};
// --dir (empty with --keep): it holds every case's data kept so far.
std::string dir_to_remove;

// Removes --dir and all in it, at the end of the run or from die().
void remove_run_dir() {
  if (dir_to_remove.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_to_remove, ec);
}

// One `spate broker` child on a fresh data folder; stopped (SIGTERM, clean shutdown) when
// destroyed, its folder removed then or with --dir at the end (stop()). Owned by the main thread.
class broker_process {
 public:
  // A stopped case's data stays until the run ends while the disk has this much free.
  static constexpr uintmax_t keep_data_while_free = 10'000'000'000;  // bytes (10 GB)

  broker_process(const options& o, std::string id) : _o(o), _id(std::move(id)) {
    _data = _o.dir + "/broker-" + _id;
    _log = _o.dir + "/broker-" + _id + ".log";
  }
  ~broker_process() { stop(); }
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  // `fresh`: on an emptied data folder (else on what the last run left, for B8). Returns once
  // the broker has logged that it is ready; ready_seconds() is the time from exec to then.
  bool start(const std::string& flush, int partitions, bool fresh = true,
             double ready_timeout = 30) {
    std::error_code ec;
    if (fresh) fs::remove_all(_data, ec);
    fs::create_directories(_data, ec);
    fs::remove(_log, ec);  // the ready line searched for below is this run's
    std::vector<std::string> args;
    for (auto& w : split(replace_all(_o.wrap, "{case}", _id), ' ')) args.push_back(w);
    args.insert(args.end(), {_o.spate, "broker", "--data-dir", _data, "--port", "0",
                             "--metrics-port", "0", "--flush-policy", flush, "--num-partitions",
                             std::to_string(partitions), "--log-level", "info"});
    if (_o.cores > 0) args.insert(args.end(), {"--cores", std::to_string(_o.cores)});
    for (auto& a : split(_o.broker_args, ' ')) args.push_back(a);
    _cmd.clear();
    for (auto& a : args) _cmd += (_cmd.empty() ? "" : " ") + a;
    int64_t spawned = now_ns();
    _spawned_ns = spawned;
    _pid = spawn(args, _log, broker_cgroup ? broker_cgroup->procs() : std::string());
    if (_pid <= 0) return false;
    _died = false;
    running_broker.store(_pid);
    double timeout = _o.wrap.empty() ? ready_timeout : 300;
    int64_t end = now_ns() + static_cast<int64_t>(timeout * 1e9);
    const std::string marker = "ready: Kafka clients can connect to ";
    while (now_ns() < end) {
      std::string text = read_text(_log);
      auto at = text.find(marker);
      if (at != std::string::npos) {
        auto eol = text.find('\n', at);
        if (eol != std::string::npos) {
          std::string addr = text.substr(at + marker.size(), eol - at - marker.size());
          auto colon = addr.find(':');
          if (colon != std::string::npos) {
            _port = static_cast<uint16_t>(std::strtoul(addr.c_str() + colon + 1, nullptr, 10));
            _bootstrap = "127.0.0.1:" + std::to_string(_port);
            _ready_s = static_cast<double>(now_ns() - spawned) / 1e9;
            return true;
          }
        }
      }
      int st = 0;
      if (::waitpid(_pid, &st, WNOHANG) == _pid) {
        _pid = -1;
        running_broker.store(-1);
        std::fprintf(stderr, "kafka_bench: the broker exited before it was ready:\n%s\n",
                     text.c_str());
        return false;
      }
      sleep_s(0.001);
    }
    std::fprintf(stderr, "kafka_bench: the broker was not ready in %.0f s (log %s)\n", timeout,
                 _log.c_str());
    return false;
  }

  // False once the broker has exited (it was not asked to); the status is kept for stop().
  bool alive() {
    if (_pid <= 0 || _died) return false;
    if (::waitpid(_pid, &_status, WNOHANG) == _pid) _died = true;
    return !_died;
  }

  void stop() {
    if (_pid > 0) {
      bool died = _died || !alive();
      int st = _status;
      if (!died) {
        ::kill(_pid, SIGTERM);
        st = reap(_pid, _o.wrap.empty() ? 60 : 300, SIGKILL);
      }
      if (died) {
        std::printf("    BROKER DIED during the case: %s; its log (%s) ends:\n",
                    WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited", _log.c_str());
        std::string text = read_text(_log);
        auto lines = split(text, '\n');
        for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i) {
          std::printf("      %s\n", lines[i].c_str());
        }
        _keep_log = true;
      } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::printf("    broker %s did not stop cleanly (status %d); log %s\n", _id.c_str(), st,
                    _log.c_str());
        _keep_log = true;
      }
      _pid = -1;
      running_broker.store(-1);
      // Its warnings and errors, for the reader to judge (e.g. connections it closed).
      std::istringstream in(read_text(_log));
      std::string line;
      int total = 0;
      while (std::getline(in, line)) {
        if (line.find("warning]") == std::string::npos &&
            line.find("error]") == std::string::npos) {
          continue;
        }
        if (++total <= 5) std::printf("    broker log: %s\n", line.c_str());
      }
      if (total > 5) std::printf("    broker log: ... %d more warnings/errors\n", total - 5);
    }
    if (!_o.keep && !_data.empty()) {
      std::error_code ec;
      // The folder goes at the end of the run, with --dir, while the disk has room: deleting
      // a case's gigabytes frees their page cache at once, and on a VM with free page
      // reporting (virtio-balloon) the guest then hands that memory to the host over the
      // next seconds, which stalled the following case by 35-100 ms every other second
      // (bench/RESULTS.md, session 8: gone with the balloon driver unbound).
      // B8, if it is still to come, writes --b8-gb more.
      bool b8_later =
          _id != "B8" && std::find(_o.cases.begin(), _o.cases.end(), "B8") != _o.cases.end();
      auto need = keep_data_while_free + (b8_later ? static_cast<uintmax_t>(_o.b8_gb * 1e9) : 0);
      auto free = fs::space(_o.dir, ec).available;
      if (ec || free < need) {
        std::error_code rm;
        fs::remove_all(_data, rm);
        if (ec) {
          std::printf("  (data folder removed now: free space of %s unknown: %s)\n", _o.dir.c_str(),
                      ec.message().c_str());
        } else {
          std::printf(
              "  (data folder removed now, %.1f GB free: the next case may see the VM "
              "take the freed page cache back)\n",
              static_cast<double>(free) / 1e9);
        }
        ec.clear();
      }
      if (!_keep_log) fs::remove(_log, ec);
      ::sync();  // this case's writeback is not charged to the next
    }
  }

  // SIGKILL, as a crash would; the data folder stays for the next start().
  void kill_hard() {
    if (_pid <= 0) return;
    ::kill(_pid, SIGKILL);
    reap(_pid, 60, SIGKILL);
    _pid = -1;
    running_broker.store(-1);
  }

  // Stops the broker (SIGTERM, clean shutdown) but keeps its data folder; seconds taken.
  double stop_keeping_data() {
    int64_t t = now_ns();
    if (_pid > 0) {
      ::kill(_pid, SIGTERM);
      int st = reap(_pid, 300, SIGKILL);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::printf("    broker %s did not stop cleanly (status %d); log %s\n", _id.c_str(), st,
                    _log.c_str());
      }
      _pid = -1;
      running_broker.store(-1);
    }
    return static_cast<double>(now_ns() - t) / 1e9;
  }

  pid_t pid() const { return _pid; }
  double ready_seconds() const { return _ready_s; }
  int64_t spawned_ns() const { return _spawned_ns; }
  const std::string& data_dir() const { return _data; }
  const std::string& log_path() const { return _log; }
  const std::string& bootstrap() const { return _bootstrap; }
  const std::string& command() const { return _cmd; }

 private:
  const options& _o;
  std::string _id;
  std::string _data;
  std::string _log;
  std::string _cmd;
  std::string _bootstrap;
  pid_t _pid = -1;
  uint16_t _port = 0;
  double _ready_s = 0;
  int64_t _spawned_ns = 0;
  bool _died = false;
  bool _keep_log = false;
  int _status = 0;
};

// Samples the broker's VmRSS every 50 ms while alive; keeps the maximum.
class rss_sampler {
 public:
  explicit rss_sampler(pid_t pid)
      : _thread([this, pid] {
          while (!_stop.load()) {
            uint64_t kb = proc_status_kb(pid, "VmRSS:");
            uint64_t prev = _max_kb.load();
            while (kb > prev && !_max_kb.compare_exchange_weak(prev, kb)) {
            }
            sleep_s(0.05);
          }
        }) {}
  ~rss_sampler() {
    _stop.store(true);
    _thread.join();
  }
  rss_sampler(const rss_sampler&) = delete;
  rss_sampler& operator=(const rss_sampler&) = delete;
  uint64_t max_kb() const { return _max_kb.load(); }

 private:
  std::atomic<uint64_t> _max_kb{0};
  std::atomic<bool> _stop{false};
  std::thread _thread;
};

// The --attach command, running while a measured window is open.
class attached_command {
 public:
  attached_command(const options& o, const std::string& id, pid_t broker) {
    if (o.attach.empty()) return;
    std::string cmd =
        replace_all(replace_all(o.attach, "{pid}", std::to_string(broker)), "{case}", id);
    std::printf("    attach: %s\n", cmd.c_str());
    std::fflush(stdout);
    _pid = spawn({"/bin/sh", "-c", cmd}, o.dir + "/attach-" + id + ".log");
  }
  ~attached_command() {
    if (_pid > 0) reap(_pid, 120, SIGINT);
  }
  attached_command(const attached_command&) = delete;
  attached_command& operator=(const attached_command&) = delete;

 private:
  pid_t _pid = -1;
};

// --- clients ------------------------------------------------------------------------------

using config_list = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "kafka_bench: %s\n", what.c_str());
  // std::exit runs no destructors: stop the broker of the current case here.
  if (pid_t b = running_broker.load(); b > 0) {
    ::kill(b, SIGTERM);
    reap(b, 30, SIGKILL);
  }
  if (broker_cgroup) broker_cgroup->remove();
  remove_run_dir();
  std::exit(1);
}

// "k=v,k=v" as a config list.
config_list parse_config(const std::string& s) {
  config_list out;
  for (auto& kv : split(s, ',')) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) die("--producer-config wants k=v, got '" + kv + "'");
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

rd_kafka_conf_t* make_conf(const config_list& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      die("librdkafka config " + k + "=" + v + ": " + err);
    }
  }
  return conf;
}

// Delivery-report counters. `acked` and `failed` are read by the main thread; the latency
// samples belong to the thread that calls rd_kafka_poll until it is joined.
struct producer_stats {
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> last_error{0};
  bool ack_latency = false;
  int64_t t0_ns = 0;
  int64_t interval_ns = 0;
  uint64_t warm = 0;  // sequence numbers below are warm-up
  std::vector<int64_t> ack_ns;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<producer_stats*>(opaque);
  if (m->err) {
    s->failed.fetch_add(1, std::memory_order_relaxed);
    s->last_error.store(m->err, std::memory_order_relaxed);
    return;
  }
  s->acked.fetch_add(1, std::memory_order_relaxed);
  if (s->ack_latency) {
    auto seq = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    if (seq >= s->warm) {
      s->ack_ns.push_back(now_ns() - (s->t0_ns + static_cast<int64_t>(seq) * s->interval_ns));
    }
  }
}

// A producer with its delivery reports served on a thread of its own.
class producer {
 public:
  producer(const std::string& bootstrap, const config_list& extra) {
    config_list settings = {{"bootstrap.servers", bootstrap},
                            {"enable.idempotence", "false"},
                            {"socket.nagle.disable", "true"},
                            {"log.connection.close", "false"},
                            {"message.timeout.ms", "120000"}};
    settings.insert(settings.end(), extra.begin(), extra.end());
    rd_kafka_conf_t* conf = make_conf(settings);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &stats);
    char err[512];
    _rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!_rk) die(std::string("producer: ") + err);
    _rkt = rd_kafka_topic_new(_rk, topic_name.c_str(), nullptr);
  }
  ~producer() {
    stop_polling();
    if (rd_kafka_flush(_rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_purge(_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(_rk, 5000);
    }
    rd_kafka_topic_destroy(_rkt);
    rd_kafka_destroy(_rk);
  }
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // CreateTopics, then waits until Metadata shows every partition.
  void create_topic(int partitions) {
    char err[512];
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(topic_name.c_str(), partitions, 1, err, sizeof err);
    if (!nt) die(std::string("NewTopic: ") + err);
    rd_kafka_queue_t* q = rd_kafka_queue_new(_rk);
    rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(_rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 30000, err, sizeof err);
    rd_kafka_CreateTopics(_rk, &nt, 1, ao, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60000);
    if (!ev) die("CreateTopics: no answer");
    if (rd_kafka_event_error(ev)) {
      die(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev));
    }
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(res[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        die(std::string("CreateTopics: ") + rd_kafka_err2str(e));
      }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    for (int attempt = 0; attempt < 100; ++attempt) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(_rk, 0, _rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        bool ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                     md->topics[0].partition_cnt == partitions;
        rd_kafka_metadata_destroy(md);
        if (ready) return;
      }
      sleep_s(0.1);
    }
    die("topic " + topic_name + " never showed " + std::to_string(partitions) + " partitions");
  }

  void start_polling() {
    _stop_polling.store(false);
    _poller = std::thread([this] {
      while (!_stop_polling.load()) rd_kafka_poll(_rk, 50);
    });
  }
  void stop_polling() {
    if (_poller.joinable()) {
      _stop_polling.store(true);
      _poller.join();
    }
  }

  // Waits until every message is delivered or failed; false on timeout.
  bool flush(int timeout_ms) {
    return rd_kafka_flush(_rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR;
  }

  enum class sent { yes, queue_full, error };

  // Enqueues one message; waits up to `max_wait_ns` while librdkafka's queue is full. `copy`:
  // librdkafka copies the value (else it must outlive delivery).
  // `partition`: the partitioner's choice unless given.
  sent try_send(const void* value, size_t size, bool copy, uint64_t seq, int64_t max_wait_ns,
                int32_t partition = RD_KAFKA_PARTITION_UA) {
    int64_t give_up = now_ns() + max_wait_ns;
    for (;;) {
      int r = rd_kafka_produce(_rkt, partition, copy ? RD_KAFKA_MSG_F_COPY : 0,
                               const_cast<void*>(value), size, nullptr, 0,
                               reinterpret_cast<void*>(static_cast<uintptr_t>(seq)));
      if (r == 0) return sent::yes;
      auto e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "kafka_bench: produce: %s\n", rd_kafka_err2str(e));
        return sent::error;
      }
      if (now_ns() >= give_up) return sent::queue_full;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  producer_stats stats;

 private:
  rd_kafka_t* _rk = nullptr;
  rd_kafka_topic_t* _rkt = nullptr;
  std::atomic<bool> _stop_polling{false};
  std::thread _poller;
};

struct consumer_stats {
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<int> last_error{0};
  bool e2e_latency = false;
  uint64_t warm = 0;
  std::vector<int64_t> e2e_ns;    // the consumer thread's until joined
  std::vector<uint64_t> e2e_seq;  // the sequence number of each e2e_ns sample
};

// An assign()-based consumer of every partition from offset 0 (no consumer groups yet: the
// group.id only satisfies librdkafka), on a thread of its own.
class consumer {
 public:
  consumer(const std::string& bootstrap, int partitions) {
    rd_kafka_conf_t* conf = make_conf({{"bootstrap.servers", bootstrap},
                                       {"group.id", "kafka-bench-unused"},
                                       {"enable.auto.commit", "false"},
                                       {"enable.auto.offset.store", "false"},
                                       {"enable.partition.eof", "false"},
                                       {"auto.offset.reset", "earliest"},
                                       {"fetch.wait.max.ms", "100"},
                                       {"socket.nagle.disable", "true"},
                                       {"log.connection.close", "false"}});
    char err[512];
    _rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!_rk) die(std::string("consumer: ") + err);
    rd_kafka_poll_set_consumer(_rk);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(parts, topic_name.c_str(), p)->offset = 0;
    }
    if (auto e = rd_kafka_assign(_rk, parts)) die(std::string("assign: ") + rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(parts);
  }
  ~consumer() {
    stop();
    rd_kafka_consumer_close(_rk);
    rd_kafka_destroy(_rk);
  }
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  void start() {
    _stop.store(false);
    _thread = std::thread([this] {
      while (!_stop.load()) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(_rk, 50);
        if (!m) continue;
        if (m->err) {
          stats.errors.fetch_add(1, std::memory_order_relaxed);
          stats.last_error.store(m->err, std::memory_order_relaxed);
        } else {
          if (stats.e2e_latency && m->len >= 16) {
            int64_t intended = 0;
            uint64_t seq = 0;
            std::memcpy(&intended, m->payload, 8);
            std::memcpy(&seq, static_cast<const char*>(m->payload) + 8, 8);
            if (seq >= stats.warm) {
              stats.e2e_ns.push_back(now_ns() - intended);
              stats.e2e_seq.push_back(seq);
            }
          }
          stats.consumed.fetch_add(1, std::memory_order_relaxed);
        }
        rd_kafka_message_destroy(m);
      }
    });
  }
  void stop() {
    if (_thread.joinable()) {
      _stop.store(true);
      _thread.join();
    }
  }

  consumer_stats stats;

 private:
  rd_kafka_t* _rk = nullptr;
  std::atomic<bool> _stop{false};
  std::thread _thread;
};

// --- cases --------------------------------------------------------------------------------

struct lag_sample {
  double t;  // seconds into the window
  int64_t lag;
  double consumer_rate;  // msgs/s over the last second
  double producer_rate;  // acknowledged msgs/s over the last second
};

struct case_result {
  std::string id;
  std::string what;
  std::string flush;
  int partitions = 0;
  bool ran = false;
  double window_s = 0;
  uint64_t produced = 0;  // acknowledged in the window
  uint64_t consumed = 0;  // consumed in the window
  uint64_t failed = 0;
  double broker_cpu_s = 0;
  uint64_t broker_switches = 0;  // context switches of the broker's threads in the window
  double client_cpu_s = 0;
  uint64_t rss_idle_kb = 0;
  uint64_t rss_max_kb = 0;
  uint64_t rss_hwm_kb = 0;
  std::string load_before;
  latency_summary e2e;
  latency_summary ack;
  std::vector<lag_sample> lags;
  bool broker_died = false;
  bool lag_judged = false;
  bool lag_flat = true;
  double lag_slope = 0;     // msgs per second of window (Theil-Sen: judge_lag)
  double lag_ls_slope = 0;  // the least-squares slope, beside it

  double produce_rate() const { return window_s > 0 ? produced / window_s : 0; }
  double consume_rate() const { return window_s > 0 ? consumed / window_s : 0; }
  double broker_us_per_record() const {
    return produced ? broker_cpu_s * 1e6 / static_cast<double>(produced) : 0;
  }
  double client_us_per_record() const {
    return produced ? client_cpu_s * 1e6 / static_cast<double>(produced) : 0;
  }
};

struct snapshot {
  int64_t t_ns;
  uint64_t acked;
  uint64_t consumed;
  double broker_cpu;
  double client_cpu;
  uint64_t broker_switches;
};

snapshot take(pid_t broker, const producer& p, const consumer* c) {
  return {now_ns(),
          p.stats.acked.load(),
          c ? c->stats.consumed.load() : 0,
          proc_cpu_seconds(broker),
          client_cpu_seconds(),
          proc_context_switches(broker)};
}

snapshot take(pid_t broker, const std::vector<std::unique_ptr<producer>>& ps, const consumer* c) {
  snapshot s = take(broker, *ps.front(), c);
  for (size_t i = 1; i < ps.size(); ++i) s.acked += ps[i]->stats.acked.load();
  return s;
}

void fill_window(case_result& r, const snapshot& a, const snapshot& b) {
  r.window_s = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  r.produced = b.acked - a.acked;
  r.consumed = b.consumed - a.consumed;
  r.broker_cpu_s = b.broker_cpu - a.broker_cpu;
  r.client_cpu_s = b.client_cpu - a.client_cpu;
  r.broker_switches = b.broker_switches - a.broker_switches;
}

// Lag's trend over the window: the Theil-Sen slope (the median of the slopes between every
// two samples), flat if the growth it gives over the window stays under 100 ms worth of
// production. A stall that lifts the lag for a second or two, and the consumer then
// clears, is not a trend; the least-squares slope, which one stall at the end of the window
// can turn "growing" on its own, is printed beside it (lag_ls_slope). A consumer that falls
// behind for good raises most pairwise slopes, and so the median.
void judge_lag(case_result& r) {
  size_t n = r.lags.size();
  if (n < 3) return;
  std::vector<double> slopes;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      double dt = r.lags[j].t - r.lags[i].t;
      if (dt > 0) {
        slopes.push_back(static_cast<double>(r.lags[j].lag - r.lags[i].lag) / dt);
      }
    }
  }
  if (slopes.empty()) return;
  std::sort(slopes.begin(), slopes.end());
  size_t m = slopes.size();
  r.lag_slope = m % 2 ? slopes[m / 2] : (slopes[m / 2 - 1] + slopes[m / 2]) / 2;
  double st = 0, sl = 0;
  for (auto& s : r.lags) {
    st += s.t;
    sl += static_cast<double>(s.lag);
  }
  double mt = st / static_cast<double>(n), ml = sl / static_cast<double>(n);
  double num = 0, den = 0;
  for (auto& s : r.lags) {
    num += (s.t - mt) * (static_cast<double>(s.lag) - ml);
    den += (s.t - mt) * (s.t - mt);
  }
  r.lag_ls_slope = den > 0 ? num / den : 0;
  r.lag_judged = true;
  r.lag_flat = r.lag_slope * r.window_s < 0.1 * r.produce_rate();
}

void print_case_line(const case_result& r) {
  std::printf(
      "  %s: %.0f msgs/s produced (%.1f MB/s), %.0f msgs/s consumed in %.1f s; broker CPU %.2f s "
      "(%.2f µs/record, %.3f context switches/record), client CPU %.2f s; RSS idle %.1f MB, max "
      "%.1f MB\n",
      r.id.c_str(), r.produce_rate(), r.produce_rate() * value_size / mb, r.consume_rate(),
      r.window_s, r.broker_cpu_s, r.broker_us_per_record(),
      r.produced ? static_cast<double>(r.broker_switches) / static_cast<double>(r.produced) : 0,
      r.client_cpu_s, r.rss_idle_kb / 1e3, r.rss_max_kb / 1e3);
  if (r.failed) std::printf("  %s: %" PRIu64 " deliveries FAILED\n", r.id.c_str(), r.failed);
  std::fflush(stdout);
}

// B1, B2, B3, B7: one producer as fast as it goes, or at `pace` msgs/s if not 0 (plus, if
// `tail`, a consumer tailing it).
// `producers` > 1: that many librdkafka producers (each its own connection and threads), fed
// round robin by this thread, as OMB's many-producer workloads are: the broker then gathers
// batches from several connections into one append and one fdatasync.
case_result run_throughput(const options& o, const std::string& id, const std::string& what,
                           const std::string& flush, const std::string& acks, int partitions,
                           bool tail, double pace = 0, int producers = 1) {
  case_result r;
  r.id = id;
  r.what = what;
  r.flush = flush;
  r.partitions = partitions;
  r.load_before = load_average();
  std::string paced =
      pace > 0 ? ", paced at " + std::to_string(static_cast<int64_t>(pace)) + " msgs/s" : "";
  std::printf("%s  %s (broker --flush-policy %s, %d partitions%s; load average %s)\n", id.c_str(),
              what.c_str(), flush.c_str(), partitions, paced.c_str(), r.load_before.c_str());
  std::fflush(stdout);
  broker_process b(o, id);
  if (!b.start(flush, partitions)) die("broker for " + id + " did not start");
  sleep_s(0.2);
  r.rss_idle_kb = proc_status_kb(b.pid(), "VmRSS:");

  std::vector<char> payload(value_size);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131 + 7) % 251);
  {
    // The producers share one client-side budget: as many messages queued in all as one
    // producer of B1/B2 may queue.
    config_list pc = {{"acks", acks},
                      {"linger.ms", "5"},
                      {"queue.buffering.max.messages", std::to_string(200000 / producers)},
                      {"queue.buffering.max.kbytes", std::to_string(262144 / producers)}};
    for (auto& kv : parse_config(o.producer_config)) pc.push_back(kv);
    std::vector<std::unique_ptr<producer>> ps;
    for (int i = 0; i < producers; ++i) ps.push_back(std::make_unique<producer>(b.bootstrap(), pc));
    ps.front()->create_topic(partitions);
    std::unique_ptr<consumer> c;
    if (tail) {
      c = std::make_unique<consumer>(b.bootstrap(), partitions);
      c->start();
    }
    for (auto& p : ps) p->start_polling();
    rss_sampler rss(b.pid());
    int64_t began = now_ns();
    int64_t window_start = began + static_cast<int64_t>(o.warmup * 1e9);
    int64_t window_end = window_start + static_cast<int64_t>(o.seconds * 1e9);
    std::optional<snapshot> first;
    std::optional<attached_command> attached;
    snapshot last_sample{};
    int64_t next_sample = 0;
    for (uint64_t seq = 0;;) {
      auto sent =
          ps[seq % ps.size()]->try_send(payload.data(), payload.size(), false, seq, 10000000);
      if (sent == producer::sent::error) break;
      if (sent == producer::sent::yes && (++seq & 63) != 0) continue;
      int64_t t = now_ns();
      if (pace > 0) {
        int64_t due = began + static_cast<int64_t>(static_cast<double>(seq) * 1e9 / pace);
        if (t < due) {
          sleep_until_ns(due);
          t = now_ns();
        }
      }
      if (!first && t >= window_start) {
        first = take(b.pid(), ps, c.get());
        last_sample = *first;
        next_sample = t + 1000000000;
        attached.emplace(o, id, b.pid());
      }
      if (first && t >= next_sample) {
        snapshot s = take(b.pid(), ps, c.get());
        double dt = static_cast<double>(s.t_ns - last_sample.t_ns) / 1e9;
        r.lags.push_back({static_cast<double>(s.t_ns - first->t_ns) / 1e9,
                          static_cast<int64_t>(s.acked) - static_cast<int64_t>(s.consumed),
                          static_cast<double>(s.consumed - last_sample.consumed) / dt,
                          static_cast<double>(s.acked - last_sample.acked) / dt});
        last_sample = s;
        next_sample += 1000000000;
      }
      if (!b.alive()) r.broker_died = true;
      if (t >= window_end || r.broker_died) {
        if (!first) first = take(b.pid(), ps, c.get());
        fill_window(r, *first, take(b.pid(), ps, c.get()));
        break;
      }
    }
    attached.reset();
    r.rss_max_kb = rss.max_kb();
    r.rss_hwm_kb = proc_status_kb(b.pid(), "VmHWM:");
    for (auto& p : ps) {
      r.failed += p->stats.failed.load();
      if (p->stats.failed.load()) {
        std::printf("  last delivery error: %s\n",
                    rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(p->stats.last_error.load())));
      }
    }
    if (c && c->stats.errors.load()) {
      std::printf("  consumer errors: %" PRIu64 " (last: %s)\n", c->stats.errors.load(),
                  rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(c->stats.last_error.load())));
    }
    c.reset();
  }
  r.ran = !r.broker_died;
  if (tail) judge_lag(r);
  print_case_line(r);
  std::printf("  produced (acked) msgs/s once a second:");
  for (auto& s : r.lags) std::printf(" %.0f", s.producer_rate);
  std::printf("\n");
  if (tail) {
    std::printf("  lag (acked - consumed, msgs) once a second:");
    for (auto& s : r.lags) std::printf(" %" PRId64, s.lag);
    std::printf("\n  consumer msgs/s once a second:");
    for (auto& s : r.lags) std::printf(" %.0f", s.consumer_rate);
    if (r.lag_judged) {
      std::printf(
          "\n  lag trend (median of pairwise slopes): %+.0f msgs/s -> %s (least "
          "squares: %+.0f msgs/s)\n",
          r.lag_slope, r.lag_flat ? "flat" : "growing", r.lag_ls_slope);
    } else {
      std::printf("\n  lag trend: too few samples to judge (window under 3 s)\n");
    }
  }
  b.stop();
  return r;
}

// --- B8: start-up on a large log ---------------------------------------------------------

struct startup_result {
  bool ran = false;
  double gb = 0;      // of values written
  double fill_s = 0;  // producing them, acks=1
  double stop_s = 0;  // the clean stop (SIGTERM until exit)
  bool cache_dropped = false;
  double clean_ready_s = 0, clean_serving_s = 0;  // after the clean stop
  double crash_ready_s = 0, crash_serving_s = 0;  // after SIGKILL
  double client_s = 0;     // the same consumer against the broker once open: the client's share
  uint64_t log_bytes = 0;  // the data folder's size on disk
};

// Writes dirty pages back and empties the page cache, so the restart reads from the disk as a
// fresh boot would. Needs root; without it the restart finds a warm cache (reported).
bool drop_page_cache() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd < 0) return false;
  bool ok = ::write(fd, "3\n", 2) == 2;
  ::close(fd);
  return ok;
}

// The broker's own account of its start: the "storage ready in ..." line of its log.
std::string storage_ready_line(const broker_process& b) {
  std::string text = read_text(b.log_path());
  auto at = text.find("storage ready in ");
  if (at == std::string::npos) return "(no \"storage ready\" line in the broker's log)";
  return text.substr(at, text.find('\n', at) - at);
}

uint64_t folder_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// Seconds until one consumer holds the last record of every partition (`messages` were written
// round robin): Metadata, the index lookup of the tail and a Fetch, on the log as opened.
// `since_ns`: the start of the interval (the broker's exec, or now for the client's own cost).
double seconds_until_serving(const broker_process& b, int partitions, uint64_t messages,
                             int64_t since_ns) {
  rd_kafka_conf_t* conf = make_conf({{"bootstrap.servers", b.bootstrap()},
                                     {"group.id", "kafka-bench-unused"},
                                     {"enable.auto.commit", "false"},
                                     {"enable.partition.eof", "false"},
                                     {"socket.nagle.disable", "true"},
                                     {"fetch.wait.max.ms", "10"},
                                     {"log.connection.close", "false"}});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die(std::string("B8 consumer: ") + err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    // The last offset is known from the round-robin fill; a logical offset (OFFSET_TAIL)
    // would add librdkafka's ListOffsets round and its timers to what is measured.
    uint64_t count = messages / static_cast<uint64_t>(partitions) +
                     (static_cast<uint64_t>(p) < messages % static_cast<uint64_t>(partitions));
    rd_kafka_topic_partition_list_add(parts, topic_name.c_str(), p)->offset =
        static_cast<int64_t>(count) - 1;
  }
  if (auto e = rd_kafka_assign(rk, parts)) die(std::string("assign: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<bool> seen(static_cast<size_t>(partitions), false);
  int missing = partitions;
  int64_t give_up = now_ns() + static_cast<int64_t>(120e9);
  while (missing > 0 && now_ns() < give_up) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err && m->partition >= 0 && m->partition < partitions &&
        !seen[static_cast<size_t>(m->partition)]) {
      seen[static_cast<size_t>(m->partition)] = true;
      --missing;
    }
    rd_kafka_message_destroy(m);
  }
  double s = static_cast<double>(now_ns() - since_ns) / 1e9;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (missing > 0)
    die("B8: the last record of " + std::to_string(missing) +
        " partitions was not served within 120 s");
  return s;
}

startup_result run_startup(const options& o) {
  startup_result r;
  const int partitions = o.partitions;
  const auto messages = static_cast<uint64_t>(o.b8_gb * 1e9 / value_size);
  std::printf("B8  start-up on %.1f GB of log, %d partitions (load average %s)\n", o.b8_gb,
              partitions, load_average().c_str());
  std::fflush(stdout);
  broker_process b(o, "B8");
  if (!b.start("os", partitions)) die("broker for B8 did not start");
  std::vector<char> payload(value_size);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131 + 7) % 251);
  int64_t t = now_ns();
  {
    producer p(b.bootstrap(), {{"acks", "1"},
                               {"linger.ms", "5"},
                               {"queue.buffering.max.messages", "200000"},
                               {"queue.buffering.max.kbytes", "262144"}});
    p.create_topic(partitions);
    p.start_polling();
    uint64_t step = messages / 10 + 1;
    for (uint64_t seq = 0; seq < messages; ++seq) {
      // Round robin, so that every partition holds an equal share (the sticky partitioner
      // could leave one empty in a small fill).
      if (p.try_send(payload.data(), payload.size(), false, seq, 60000000000,
                     static_cast<int32_t>(seq % static_cast<uint64_t>(partitions))) !=
          producer::sent::yes) {
        die("B8: producing the log failed");
      }
      if ((seq + 1) % step == 0) {
        std::printf("  filled %.2f GB\n", static_cast<double>(seq + 1) * value_size / 1e9);
        std::fflush(stdout);
      }
    }
    p.stop_polling();
    if (!p.flush(300000) || p.stats.failed.load()) die("B8: deliveries failed filling the log");
  }
  r.fill_s = static_cast<double>(now_ns() - t) / 1e9;
  r.gb = static_cast<double>(messages) * value_size / 1e9;
  r.stop_s = b.stop_keeping_data();
  r.log_bytes = folder_bytes(b.data_dir());
  std::printf("  filled in %.1f s; clean stop took %.2f s; data folder %.2f GB\n", r.fill_s,
              r.stop_s, static_cast<double>(r.log_bytes) / 1e9);

  // Drops the page cache, starts the broker on the folder as it was left, and times it.
  r.cache_dropped = true;
  auto restart = [&](const char* after, double& ready_s, double& serving_s) {
    r.cache_dropped = drop_page_cache() && r.cache_dropped;
    if (!b.start("os", partitions, false, 600)) die(std::string("B8: no restart ") + after);
    ready_s = b.ready_seconds();
    serving_s = seconds_until_serving(b, partitions, messages, b.spawned_ns());
    std::printf("  %s%s: ready in %.3f s, last record of every partition served at %.3f s\n", after,
                r.cache_dropped ? " and a dropped page cache" : " (page cache NOT dropped)",
                ready_s, serving_s);
    std::printf("  broker: %s\n", storage_ready_line(b).c_str());
  };
  restart("after a clean stop", r.clean_ready_s, r.clean_serving_s);
  r.client_s = seconds_until_serving(b, partitions, messages, now_ns());
  std::printf("  the same consumer again, on the open broker: %.3f s (the client's own start-up)\n",
              r.client_s);
  std::fflush(stdout);
  b.kill_hard();
  restart("after SIGKILL", r.crash_ready_s, r.crash_serving_s);
  r.ran = true;
  b.stop();
  return r;
}

// B4, B5: a fixed rate on a fixed timeline; latency from each message's intended send time.
case_result run_latency(const options& o, const std::string& id, const std::string& what,
                        const std::string& flush, const std::string& acks) {
  case_result r;
  r.id = id;
  r.what = what;
  r.flush = flush;
  r.partitions = o.partitions;
  r.load_before = load_average();
  std::printf("%s  %s (broker --flush-policy %s, %d partitions, %.0f msgs/s; load average %s)\n",
              id.c_str(), what.c_str(), flush.c_str(), o.partitions, o.rate, r.load_before.c_str());
  std::fflush(stdout);
  broker_process b(o, id);
  if (!b.start(flush, o.partitions)) die("broker for " + id + " did not start");
  sleep_s(0.2);
  r.rss_idle_kb = proc_status_kb(b.pid(), "VmRSS:");
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake on the timeline, not 50 µs later

  int64_t interval = static_cast<int64_t>(1e9 / o.rate);
  uint64_t warm = static_cast<uint64_t>(o.warmup * o.rate);
  uint64_t total = warm + static_cast<uint64_t>(o.seconds * o.rate);
  {
    config_list pc = {{"acks", acks}, {"linger.ms", "0"}};
    for (auto& kv : parse_config(o.producer_config)) pc.push_back(kv);
    producer p(b.bootstrap(), pc);
    p.create_topic(o.partitions);
    consumer c(b.bootstrap(), o.partitions);
    c.stats.e2e_latency = true;
    c.stats.warm = warm;
    c.stats.e2e_ns.reserve(total);
    c.stats.e2e_seq.reserve(total);
    c.start();
    sleep_s(0.5);  // the consumer connects and starts polling before the timeline does
    int64_t t0 = now_ns() + 10000000;
    p.stats.ack_latency = true;
    p.stats.t0_ns = t0;
    p.stats.interval_ns = interval;
    p.stats.warm = warm;
    p.stats.ack_ns.reserve(total);
    p.start_polling();
    rss_sampler rss(b.pid());
    std::optional<snapshot> first;
    std::optional<attached_command> attached;
    char value[value_size];
    std::memset(value, 'v', sizeof value);
    for (uint64_t seq = 0; seq < total; ++seq) {
      int64_t intended = t0 + static_cast<int64_t>(seq) * interval;
      if (now_ns() < intended) sleep_until_ns(intended);
      if (seq == warm) {
        first = take(b.pid(), p, &c);
        attached.emplace(o, id, b.pid());
      }
      std::memcpy(value, &intended, 8);
      std::memcpy(value + 8, &seq, 8);
      if (p.try_send(value, sizeof value, true, seq, INT64_MAX / 2) != producer::sent::yes) break;
      if (seq % 1000 == 0 && !b.alive()) {
        r.broker_died = true;
        break;
      }
    }
    snapshot last = take(b.pid(), p, &c);
    if (!first) first = last;
    attached.reset();
    // Let the last messages arrive (their latencies count), up to 5 s.
    for (int i = 0; i < 500 && c.stats.consumed.load() < total; ++i) sleep_s(0.01);
    fill_window(r, *first, last);
    r.produced = total - warm;  // every message was sent on the timeline
    r.consumed = c.stats.consumed.load() - std::min<uint64_t>(warm, c.stats.consumed.load());
    r.rss_max_kb = rss.max_kb();
    r.rss_hwm_kb = proc_status_kb(b.pid(), "VmHWM:");
    c.stop();
    p.stop_polling();
    r.failed = p.stats.failed.load();
    // The worst end-to-end latency of the messages meant to be sent in each second: a stall
    // shows as one bad second, a rate the broker cannot sustain as a growing series.
    std::vector<int64_t> worst(static_cast<size_t>(o.seconds) + 1, 0);
    for (size_t i = 0; i < c.stats.e2e_ns.size(); ++i) {
      size_t second = static_cast<size_t>(static_cast<double>(c.stats.e2e_seq[i] - warm) / o.rate);
      if (second < worst.size()) worst[second] = std::max(worst[second], c.stats.e2e_ns[i]);
    }
    std::printf("  e2e max by second of intended send (ms):");
    for (auto w : worst) std::printf(" %.1f", static_cast<double>(w) / 1e6);
    std::printf("\n");
    r.e2e = summarize(std::move(c.stats.e2e_ns));
    r.ack = summarize(std::move(p.stats.ack_ns));
    if (r.e2e.count < total - warm) {
      std::printf("  %zu of %" PRIu64 " measured messages reached the consumer\n", r.e2e.count,
                  total - warm);
    }
  }
  r.ran = !r.broker_died;
  print_case_line(r);
  std::printf(
      "  end-to-end (consumer sees it - intended send): p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, "
      "max %.0f µs (%zu samples)\n",
      r.e2e.p50_us, r.e2e.p99_us, r.e2e.p999_us, r.e2e.max_us, r.e2e.count);
  std::printf(
      "  produce ack (delivery report - intended send): p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, "
      "max %.0f µs\n",
      r.ack.p50_us, r.ack.p99_us, r.ack.p999_us, r.ack.max_us);
  b.stop();
  return r;
}

// B7's idle figure: a fresh broker with no topics, nothing connected.
uint64_t idle_rss_kb(const options& o) {
  broker_process b(o, "B7-idle");
  if (!b.start("os", 1)) die("broker for B7 did not start");
  sleep_s(1);
  uint64_t kb = proc_status_kb(b.pid(), "VmRSS:");
  b.stop();
  return kb;
}

// --- report -------------------------------------------------------------------------------

struct row {
  std::string id, figure, measured, target;
  double ratio = 0;  // measured / target
  bool lower_is_better = false;
  bool has_ratio = true;
  bool judged = true;  // false: the ratio is shown for context, not against a target
};

void print_row(const row& r) {
  std::string ratio = "-", verdict = "-";
  if (r.has_ratio) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", r.ratio);
    ratio = buf;
    bool meets = r.lower_is_better ? r.ratio <= 1.0 : r.ratio >= 1.0;
    if (r.judged) verdict = meets ? "meets" : "MISSES";
  }
  std::printf("| %-3s | %-46s | %-26s | %-30s | %6s | %-6s |\n", r.id.c_str(), r.figure.c_str(),
              r.measured.c_str(), r.target.c_str(), ratio.c_str(), verdict.c_str());
}

std::string strf(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string strf2(const char* f, double a, double b) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

}  // namespace
}  // namespace spate::bench

int main(int argc, char** argv) {
  using namespace spate::bench;
  auto parsed = parse_args(argc, argv);
  if (!parsed) return 2;
  const options& o = *parsed;
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) die("cannot create " + o.dir + ": " + ec.message());
  if (!o.keep) dir_to_remove = o.dir;
  ::signal(SIGPIPE, SIG_IGN);

  std::string cpu = "?";
  {
    std::istringstream in(read_text("/proc/cpuinfo"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
    }
  }
  utsname u{};
  uname(&u);
  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  std::printf("kafka_bench: %s\n", cmdline.c_str());
  std::printf("machine: %s, %ld CPUs (%s), kernel %s; librdkafka %s; load average %s\n", u.nodename,
              sysconf(_SC_NPROCESSORS_ONLN), cpu.c_str(), u.release, rd_kafka_version_str(),
              load_average().c_str());
  std::printf("broker: %s\n", o.spate.c_str());
  std::optional<memory_cgroup> cgroup;
  if (o.page_cache_mb > 0) {
    cgroup.emplace(o.page_cache_mb);
    broker_cgroup = &*cgroup;
    std::printf("broker memory cgroup: %s, %" PRIu64
                " MB (its page cache stays full and is recycled, as on a broker that has run "
                "for a while)\n",
                cgroup->dir().c_str(), o.page_cache_mb);
  }
  std::printf("\n");

  // Floors.
  floors f;
  std::printf("floors (measured now)\n");
  std::fflush(stdout);
  if (o.iperf) {
    f.bw_tcp = measure_bw_tcp(o.iperf_seconds);
    std::printf("  BW_tcp  %.1f Gbit/s (%.2f GB/s), iperf3 one stream over loopback, %.0f s\n",
                f.bw_tcp * 8 / 1e9, f.bw_tcp / 1e9, o.iperf_seconds);
  }
  f.rtt = measure_rtt(1.0);
  std::printf("  RTT     p50 %.1f µs, p99 %.1f µs: 1 KiB TCP ping-pong round trip, loopback\n",
              f.rtt.p50_us, f.rtt.p99_us);
  measure_w_seq(o.dir, o.wseq_mb, f);
  std::printf("  W_buf   %.2f GB/s: %" PRIu64 " x 1 MiB pwrite into the page cache\n",
              f.w_buf / 1e9, o.wseq_mb);
  std::printf("  W_seq   %.2f GB/s: %" PRIu64 " x 1 MiB pwrite + fsync in %s\n", f.w_seq / 1e9,
              o.wseq_mb, o.dir.c_str());
  f.fsync = measure_fsync(o.dir, 1.0);
  std::printf("  F_sync  p50 %.0f µs, p99 %.0f µs: 1 KiB append + fdatasync (%zu syncs)\n\n",
              f.fsync.p50_us, f.fsync.p99_us, f.fsync.count);
  std::fflush(stdout);
  if (o.floors_only) return 0;

  std::map<std::string, case_result> res;
  auto run_if = [&](const std::string& id, auto fn) {
    if (selected(o, id)) res[id] = fn();
  };
  run_if("B1", [&] {
    return run_throughput(o, "B1", "produce, acks=1, linger.ms=5", "os", "1", o.partitions, false);
  });
  run_if("B2", [&] {
    return run_throughput(o, "B2", "produce, acks=all, linger.ms=5", "always", "all", o.partitions,
                          false);
  });
  run_if("M16", [&] {
    return run_throughput(o, "M16", "produce from 16 producers, acks=all, linger.ms=5", "always",
                          "all", o.partitions, false, 0, 16);
  });
  run_if("B3", [&] {
    double pace = o.b3_rate;
    if (pace == 0 && res.count("B1")) pace = 0.7 * res["B1"].produce_rate();
    return run_throughput(o, "B3", "produce acks=1 + tailing consumer", "os", "1", o.partitions,
                          true, pace);
  });
  run_if("B4", [&] {
    return run_latency(o, "B4", "end-to-end latency, acks=1, linger.ms=0", "os", "1");
  });
  run_if("B5", [&] {
    return run_latency(o, "B5", "end-to-end latency, acks=" + o.b5_acks + ", linger.ms=0",
                       o.b5_flush, o.b5_acks);
  });
  uint64_t idle_kb = 0;
  run_if("B7", [&] {
    std::printf("B7  idle broker, no topics\n");
    idle_kb = idle_rss_kb(o);
    std::printf("  idle RSS %.1f MB\n", idle_kb / 1e3);
    return run_throughput(o, "B7", "produce acks=1 + tailing consumer", "os", "1",
                          o.load_partitions, true);
  });

  startup_result b8;
  if (selected(o, "B8")) b8 = run_startup(o);

  // Per-case figures.
  std::printf("\nper case (window of %.0f s after %.0f s warm-up; MB = 10^6 bytes of values)\n\n",
              o.seconds, o.warmup);
  std::printf(
      "| case | flush  | parts | produced msgs/s | MB/s  | consumed msgs/s | broker CPU s | "
      "broker cores | broker µs/rec | broker ctx sw/rec | client CPU s | client µs/rec | "
      "RSS idle / max MB | load avg before |\n");
  std::printf(
      "|------|--------|------:|----------------:|------:|----------------:|-------------:|"
      "-------------:|--------------:|------------------:|-------------:|--------------:|"
      "------------------:|-----------------|\n");
  for (auto& [id, r] : res) {
    std::printf(
        "| %-4s | %-6s | %5d | %15.0f | %5.0f | %15.0f | %12.2f | %12.2f | %13.2f | %17.3f | "
        "%12.2f | %13.2f | %7.1f / %7.1f | %-15s |\n",
        id.c_str(), r.flush.c_str(), r.partitions, r.produce_rate(),
        r.produce_rate() * value_size / mb, r.consume_rate(), r.broker_cpu_s,
        r.window_s > 0 ? r.broker_cpu_s / r.window_s : 0, r.broker_us_per_record(),
        r.produced ? static_cast<double>(r.broker_switches) / static_cast<double>(r.produced) : 0,
        r.client_cpu_s, r.client_us_per_record(), r.rss_idle_kb / 1e3, r.rss_max_kb / 1e3,
        r.load_before.c_str());
  }

  // Targets.
  std::printf("\ntargets (performance.md)\n\n");
  std::printf("| id  | %-46s | %-26s | %-30s | %6s | %-6s |\n", "figure", "measured",
              "floor / target", "ratio", "");
  std::printf("|-----|%s|%s|%s|%s|%s|\n", std::string(48, '-').c_str(),
              std::string(28, '-').c_str(), std::string(32, '-').c_str(),
              std::string(8, '-').c_str(), std::string(8, '-').c_str());
  auto has = [&](const std::string& id) { return res.count(id) && res[id].ran; };
  if (has("B1")) {
    auto& r = res["B1"];
    double bytes = r.produce_rate() * value_size;
    if (f.bw_tcp > 0) {
      print_row({"B1", "produce acks=1 throughput",
                 strf2("%.1f MB/s (%.0f k msgs/s)", bytes / mb, r.produce_rate() / 1e3),
                 strf("0.2 x BW_tcp = %.0f MB/s", 0.2 * f.bw_tcp / mb), bytes / (0.2 * f.bw_tcp)});
    } else {
      print_row({"B1", "produce acks=1 throughput", strf("%.1f MB/s", bytes / mb),
                 "BW_tcp not measured", 0, false, false});
    }
    // Not a target: under `os` every byte is copied into the page cache once, so W_buf bounds B1.
    print_row({"B1", "(beside it: share of the page-cache write rate)",
               strf("%.1f MB/s", bytes / mb), strf("W_buf = %.0f MB/s", f.w_buf / mb),
               bytes / f.w_buf, false, true, false});
  }
  // A durable (acks=all) produce rate against B2's target, half the disk's sequential rate.
  auto durable_throughput_row = [&](const char* id, const char* figure, const case_result& r) {
    double bytes = r.produce_rate() * value_size;
    print_row({id, figure, strf2("%.1f MB/s (%.0f k msgs/s)", bytes / mb, r.produce_rate() / 1e3),
               strf("0.5 x W_seq = %.0f MB/s", 0.5 * f.w_seq / mb), bytes / (0.5 * f.w_seq)});
  };
  if (has("B2")) {
    auto& r = res["B2"];
    durable_throughput_row("B2", "produce acks=all throughput", r);
    print_row({"B2", "produce acks=all vs Redis Streams fsync always",
               strf("%.0f k msgs/s", r.produce_rate() / 1e3),
               strf("4 x 127 k = %.0f k msgs/s", 4 * redis_fsync_always_msgs / 1e3),
               r.produce_rate() / (4 * redis_fsync_always_msgs)});
  }
  if (has("M16")) {
    auto& r = res["M16"];
    durable_throughput_row("M16", "16 producers, acks=all throughput", r);
    print_row({"M16", "  broker CPU per record", strf("%.2f µs", r.broker_us_per_record()), "1 µs",
               r.broker_us_per_record(), true});
  }
  if (has("B3")) {
    auto& r = res["B3"];
    if (has("B1")) {
      double b1 = res["B1"].produce_rate();
      double both = std::min(r.produce_rate(), r.consume_rate());
      print_row({"B3", "produced / consumed (ratio: the lower)",
                 strf2("%.0f k / %.0f k msgs/s", r.produce_rate() / 1e3, r.consume_rate() / 1e3),
                 strf("0.7 x B1 = %.0f k msgs/s", 0.7 * b1 / 1e3), both / (0.7 * b1)});
    } else {
      print_row({"B3", "tailing consumer rate", strf("%.0f k msgs/s", r.consume_rate() / 1e3),
                 "B1 not run", 0, false, false});
    }
    if (r.lag_judged) {
      print_row({"B3", "consumer lag trend over the window",
                 strf("%+.0f msgs/s", r.lag_slope) + (r.lag_flat ? " (flat)" : " (growing)") +
                     strf("; least squares %+.0f", r.lag_ls_slope),
                 "flat", r.lag_flat ? 1.0 : 0.0});
    }
  }
  double rtt = f.rtt.p50_us;
  if (has("B4")) {
    auto& r = res["B4"];
    print_row({"B4", "e2e p50, acks=1, 10 k msgs/s", strf("%.0f µs", r.e2e.p50_us),
               strf("3 x RTT = %.0f µs", 3 * rtt), r.e2e.p50_us / (3 * rtt), true});
    print_row(
        {"B4", "e2e p99", strf("%.0f µs", r.e2e.p99_us), "1000 µs", r.e2e.p99_us / 1000, true});
    print_row({"B4", "e2e p99.9 / max", strf2("%.0f / %.0f µs", r.e2e.p999_us, r.e2e.max_us), "-",
               0, false, false});
  }
  if (has("B5")) {
    auto& r = res["B5"];
    double t = 3 * rtt + f.fsync.p50_us;
    print_row({"B5", "e2e p50, acks=all, 10 k msgs/s", strf("%.0f µs", r.e2e.p50_us),
               strf("3 x RTT + F_sync = %.0f µs", t), r.e2e.p50_us / t, true});
    print_row(
        {"B5", "e2e p99", strf("%.0f µs", r.e2e.p99_us), "3000 µs", r.e2e.p99_us / 3000, true});
    print_row({"B5", "e2e p99.9 / max", strf2("%.0f / %.0f µs", r.e2e.p999_us, r.e2e.max_us), "-",
               0, false, false});
    print_row({"B5", "produce ack p50 (includes the fdatasync)", strf("%.0f µs", r.ack.p50_us),
               strf("3 x RTT + F_sync = %.0f µs", t), r.ack.p50_us / t, true});
    print_row({"B5", "produce ack p99", strf("%.0f µs", r.ack.p99_us), "3000 µs",
               r.ack.p99_us / 3000, true});
  }
  for (const char* id : {"B1", "B2", "B3"}) {
    if (!has(id)) continue;
    auto& r = res[id];
    print_row({"B6", std::string("broker CPU per record (") + id + ")",
               strf("%.2f µs", r.broker_us_per_record()), "1 µs", r.broker_us_per_record(), true});
  }
  if (has("B7")) {
    auto& r = res["B7"];
    print_row({"B7", "idle RSS (fresh broker, no topics)", strf("%.1f MB", idle_kb / 1e3), "50 MB",
               idle_kb / 1e3 / 50, true});
    print_row(
        {"B7",
         strf("RSS at load, %.0f partitions (max / VmHWM)", static_cast<double>(r.partitions)),
         strf2("%.1f / %.1f MB", r.rss_max_kb / 1e3, r.rss_hwm_kb / 1e3), "200 MB",
         static_cast<double>(std::max(r.rss_max_kb, r.rss_hwm_kb)) / 1e3 / 200, true});
  }
  if (b8.ran) {
    const char* cache = b8.cache_dropped ? "cold cache" : "warm cache";
    print_row({"B8", strf("ready after a clean stop, %.1f GB of log", b8.gb),
               strf("%.3f s", b8.clean_ready_s) + " (" + cache + ")", "1 s", b8.clean_ready_s,
               true});
    print_row({"B8", "  serving the last record of every partition",
               strf("%.3f s", b8.clean_serving_s), "1 s", b8.clean_serving_s, true});
    print_row({"B8", "  (the same consumer on the open broker)", strf("%.3f s", b8.client_s), "-",
               0, false, false});
    print_row({"B8", "ready after SIGKILL (active segments scanned)",
               strf("%.3f s", b8.crash_ready_s) + " (" + cache + ")", "1 s", b8.crash_ready_s,
               true});
    print_row({"B8", "  serving the last record of every partition",
               strf("%.3f s", b8.crash_serving_s), "1 s", b8.crash_serving_s, true});
  }
  std::printf("\nload average at the end: %s\n", load_average().c_str());
  remove_run_dir();
  return 0;
}
