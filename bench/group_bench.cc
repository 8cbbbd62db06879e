// group_bench: consumer-group coordination of a spate broker under librdkafka clients, printed
// beside the machine's own floors measured in the same run (conventions.md §14).
//
//   build/release/bench/group_bench                       # floors + all cases, about 1-2 min
//   build/release/bench/group_bench --sizes 1,10 --repeats 5 --commit-seconds 3
//
// It starts `spate broker` itself (fork/exec, a fresh data folder under --dir, --port 0,
// --flush-policy always) and drives it with librdkafka high-level consumers in this process.
//
// Floors:
//   RTT     1 KiB TCP ping-pong over loopback in this process: p50 of the full round trip
//   F_sync  1 KiB appending pwrite + fdatasync, one at a time, in --dir: p50 of the fdatasync
//
// Cases:
//   J<n>  join to Stable: n consumers (librdkafka, one rd_kafka_t each, range assignor) are
//         created, then all subscribe to one topic of max(n, 8) partitions at once; the time
//         from the first subscribe until every one of them holds a non-empty assignment and the
//         assignments cover the topic (the group is Stable with all n in one generation).
//         The broker's group.initial.rebalance.delay.ms (--initial-delay-ms, default 0 here;
//         Kafka's default 3000) decides much of the figure: with 0 the first member's join
//         completes alone and its SyncGroup then meets the others' rebalance, after which
//         librdkafka 2.0.2 waits about 2 s before it rejoins. The assignment callbacks are
//         counted (n when every member was assigned once). Repeated --repeats times, each with
//         a new group.
//   Csync  synchronous offset commits of one partition by one member of a Stable group, one at
//          a time (rd_kafka_commit async=0): commits/s and latency. Each commit is fdatasynced
//          before the broker answers, so the ideal is 1 / (RTT + F_sync).
//   Casync the same with async=1 and up to --window commits in flight: commits/s. Above
//          1 / F_sync only if several commits share one fdatasync (group commit).
//
// 100 librdkafka instances are heavy on 2 cores (each runs several threads), but they are what
// a real deployment runs, so J100 uses them too rather than raw protocol clients; the figure
// includes the clients' own CPU, which the printed client CPU seconds show.
//
// Threading: everything on the main thread; librdkafka adds its own threads per client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
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

struct options {
  std::string spate = SPATE_BINARY;
  std::string dir = "./group_bench.data";
  std::vector<int> sizes = {1, 10, 100};
  int repeats = 3;
  int initial_delay_ms = 0;
  double commit_seconds = 5;
  int window = 64;
  int heartbeat_ms = 1000;
  bool keep = false;
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "group_bench: %s\n", why.c_str());
  std::exit(1);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double client_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// utime + stime of the whole process `pid` (fields 14 and 15 of /proc/<pid>/stat), seconds.
double proc_cpu_seconds(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i >= 14) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct summary {
  size_t count = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
};

summary summarize(std::vector<int64_t> ns) {
  summary s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
    return static_cast<double>(ns[i]) / 1e3;
  };
  s.count = ns.size();
  s.p50_us = at(0.5);
  s.p99_us = at(0.99);
  s.max_us = static_cast<double>(ns.back()) / 1e3;
  return s;
}

// --- floors -------------------------------------------------------------------------------

// 1 KiB ping-pong with an echo thread over loopback TCP (Nagle off on both ends).
summary measure_rtt(double seconds) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(ls, 1) != 0 || ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return {};
  }
  int one = 1;
  std::thread echo([ls, one] {
    int c = ::accept(ls, nullptr, nullptr);
    if (c < 0) return;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[1024];
    while (read_full(c, buf, sizeof buf) && write_full(c, buf, sizeof buf)) {
    }
    ::close(c);
  });
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  std::vector<int64_t> samples;
  if (s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[1024] = {};
    for (int i = 0; i < 500; ++i) {
      if (!write_full(s, buf, sizeof buf) || !read_full(s, buf, sizeof buf)) break;
    }
    int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
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

// 1 KiB appending pwrite + fdatasync, one at a time: what one committed offset costs the
// broker under --flush-policy always when no other commit shares the sync.
summary measure_fsync(const std::string& dir, double seconds) {
  std::string path = dir + "/fsync.tmp";
  ::sync();  // other dirty data (a previous case's removed folder) is not this floor's to write
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return {};
  char buf[1024];
  std::memset(buf, 'f', sizeof buf);
  std::vector<int64_t> samples;
  int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
  for (off_t off = 0; now_ns() < end; off += sizeof buf) {
    if (::pwrite(fd, buf, sizeof buf, off) != static_cast<ssize_t>(sizeof buf)) break;
    int64_t t = now_ns();
    if (::fdatasync(fd) != 0) break;
    samples.push_back(now_ns() - t);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return summarize(std::move(samples));
}

// --- the broker ---------------------------------------------------------------------------

// One `spate broker` child on a fresh folder; SIGTERM (clean stop) when destroyed.
class broker_process {
 public:
  broker_process(const options& o, const std::string& id) : _o(o) {
    _data = o.dir + "/broker-" + id;
    _log = o.dir + "/broker-" + id + ".log";
  }
  ~broker_process() { stop(); }

  void start(int initial_delay_ms) {
    std::error_code ec;
    fs::remove_all(_data, ec);
    fs::create_directories(_data, ec);
    std::vector<std::string> args = {_o.spate,
                                     "broker",
                                     "--data-dir",
                                     _data,
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     "0",
                                     "--metrics-port",
                                     "0",
                                     "--flush-policy",
                                     "always",
                                     "--group-initial-rebalance-delay-ms",
                                     std::to_string(initial_delay_ms)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fd = ::open(_log.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    _pid = ::fork();
    if (_pid == 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(fd);
    const std::string marker = "ready: Kafka clients can connect to ";
    for (int64_t end = now_ns() + 30'000'000'000; now_ns() < end; sleep_s(0.01)) {
      std::string text = read_text(_log);
      auto at = text.find(marker);
      auto eol = at == std::string::npos ? at : text.find('\n', at);
      if (eol != std::string::npos) {
        bootstrap = text.substr(at + marker.size(), eol - at - marker.size());
        return;
      }
      int st = 0;
      if (::waitpid(_pid, &st, WNOHANG) == _pid) {
        _pid = -1;
        die("the broker exited before it was ready:\n" + text);
      }
    }
    die("the broker was not ready within 30 s; log " + _log);
  }

  void stop() {
    if (_pid <= 0) return;
    ::kill(_pid, SIGTERM);
    int st = 0;
    ::waitpid(_pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::printf("  broker did not stop cleanly (status %d); log %s\n", st, _log.c_str());
    }
    _pid = -1;
    if (!_o.keep) {
      std::error_code ec;
      fs::remove_all(_data, ec);
      fs::remove(_log, ec);
    }
  }

  pid_t pid() const { return _pid; }
  std::string bootstrap;

 private:
  const options& _o;
  std::string _data, _log;
  pid_t _pid = -1;
};

// --- librdkafka helpers -------------------------------------------------------------------

rd_kafka_t* new_client(rd_kafka_type_t type,
                       const std::vector<std::pair<std::string, std::string>>& kv,
                       void (*setup)(rd_kafka_conf_t*) = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto& [k, v] : kv) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      die("librdkafka setting " + k + ": " + err);
    }
  }
  if (setup) setup(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

void create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_t* rk = new_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
  if (!ev || rd_kafka_event_error(ev)) die("creating topic " + topic);
  size_t n = 0;
  auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  if (n != 1 || rd_kafka_topic_result_error(res[0])) die("creating topic " + topic);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
}

// What a member's rebalance callback saw (opaque of its rd_kafka_t).
struct member_state {
  int assigned = 0;  // partitions currently assigned
  int assigns = 0;   // assignment callbacks so far
  int64_t commits_done = 0;
  int64_t commits_failed = 0;
};

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  auto* m = static_cast<member_state*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    m->assigned = parts->cnt;
    ++m->assigns;
  } else {
    rd_kafka_assign(rk, nullptr);
    m->assigned = 0;
  }
}

int g_heartbeat_ms = 1000;  // --heartbeat-ms, for every consumer made below

std::vector<std::pair<std::string, std::string>> consumer_settings(const std::string& bootstrap,
                                                                   const std::string& group) {
  return {{"bootstrap.servers", bootstrap},
          {"group.id", group},
          {"enable.auto.commit", "false"},
          {"session.timeout.ms", "30000"},
          {"heartbeat.interval.ms", std::to_string(g_heartbeat_ms)},
          {"partition.assignment.strategy", "range"},
          {"log_level", "3"}};
}

// --- cases --------------------------------------------------------------------------------

struct join_result {
  double seconds = -1;  // -1: not Stable within the limit
  int assigns = 0;
};

join_result join_once(const std::string& bootstrap, const std::string& topic, int partitions, int n,
                      const std::string& group) {
  std::vector<member_state> states(static_cast<size_t>(n));
  std::vector<rd_kafka_t*> members;
  for (int i = 0; i < n; ++i) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (auto& [k, v] : consumer_settings(bootstrap, group)) {
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, &states[static_cast<size_t>(i)]);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) die(std::string("rd_kafka_new: ") + err);
    rd_kafka_poll_set_consumer(rk);
    members.push_back(rk);
  }
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
  join_result r;
  int64_t began = now_ns();
  for (auto* rk : members) rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  int64_t limit = began + 120'000'000'000;
  while (now_ns() < limit) {
    for (auto* rk : members) {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 0)) rd_kafka_message_destroy(m);
    }
    int total = 0;
    bool all = true;
    for (auto& s : states) {
      total += s.assigned;
      all = all && s.assigned > 0;
    }
    if (all && total == partitions) {
      r.seconds = static_cast<double>(now_ns() - began) / 1e9;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (auto& s : states) r.assigns += s.assigns;
  // No LeaveGroup round: each repeat uses a new group, and the old one may simply expire.
  for (auto* rk : members) rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return r;
}

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
               void* opaque) {
  auto* m = static_cast<member_state*>(opaque);
  (err == RD_KAFKA_RESP_ERR_NO_ERROR ? m->commits_done : m->commits_failed)++;
}

struct commit_result {
  double sync_rate = 0;
  summary sync_latency;
  double async_rate = 0;
  int64_t failed = 0;
  double broker_cpu_per_commit_us = 0;
};

commit_result run_commits(const options& o, const std::string& bootstrap, pid_t broker,
                          const std::string& topic) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto& [k, v] : consumer_settings(bootstrap, "bench-commits")) {
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
  }
  member_state state;
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
  rd_kafka_conf_set_opaque(conf, &state);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die(err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  for (int64_t end = now_ns() + 30'000'000'000; state.assigned == 0 && now_ns() < end;) {
    if (auto* m = rd_kafka_consumer_poll(rk, 100)) rd_kafka_message_destroy(m);
  }
  if (state.assigned == 0) die("the commit member got no assignment within 30 s");
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  auto* elem = rd_kafka_topic_partition_list_add(list, topic.c_str(), 0);
  commit_result r;
  int64_t next = 1;

  // Synchronous: one at a time, each answered after its fdatasync.
  std::vector<int64_t> lat;
  int64_t began = now_ns();
  int64_t end = began + static_cast<int64_t>(o.commit_seconds * 1e9);
  while (now_ns() < end) {
    elem->offset = next++;
    int64_t t = now_ns();
    if (rd_kafka_commit(rk, list, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++r.failed;
      continue;
    }
    lat.push_back(now_ns() - t);
  }
  r.sync_rate = static_cast<double>(lat.size()) / (static_cast<double>(now_ns() - began) / 1e9);
  r.sync_latency = summarize(std::move(lat));

  // Asynchronous: up to --window in flight; completions arrive through on_commit, served by
  // rd_kafka_consumer_poll.
  state.commits_done = state.commits_failed = 0;
  int64_t issued = 0;
  double cpu0 = proc_cpu_seconds(broker);
  began = now_ns();
  end = began + static_cast<int64_t>(o.commit_seconds * 1e9);
  while (now_ns() < end) {
    while (issued - (state.commits_done + state.commits_failed) < o.window) {
      elem->offset = next++;
      if (rd_kafka_commit(rk, list, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
      ++issued;
    }
    if (auto* m = rd_kafka_consumer_poll(rk, 1)) rd_kafka_message_destroy(m);
  }
  int64_t done = state.commits_done;
  double took = static_cast<double>(now_ns() - began) / 1e9;
  double cpu = proc_cpu_seconds(broker) - cpu0;
  r.async_rate = static_cast<double>(done) / took;
  r.broker_cpu_per_commit_us = done > 0 ? cpu / static_cast<double>(done) * 1e6 : 0;
  for (int64_t drain = now_ns() + 10'000'000'000;
       issued > state.commits_done + state.commits_failed && now_ns() < drain;) {
    if (auto* m = rd_kafka_consumer_poll(rk, 10)) rd_kafka_message_destroy(m);
  }
  r.failed += state.commits_failed;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return r;
}

std::vector<int> parse_sizes(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    int v = std::atoi(item.c_str());
    if (v <= 0) die("--sizes wants positive integers, e.g. 1,10,100");
    out.push_back(v);
  }
  return out;
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " wants a value");
      return argv[++i];
    };
    if (a == "--spate") {
      o.spate = value();
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--sizes") {
      o.sizes = parse_sizes(value());
    } else if (a == "--repeats") {
      o.repeats = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--initial-delay-ms") {
      o.initial_delay_ms = std::atoi(value().c_str());
    } else if (a == "--commit-seconds") {
      o.commit_seconds = std::strtod(value().c_str(), nullptr);
    } else if (a == "--window") {
      o.window = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--heartbeat-ms") {
      o.heartbeat_ms = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      std::printf(
          "usage: group_bench [--spate PATH] [--dir DIR] [--sizes 1,10,100] [--repeats 3]\n"
          "                   [--initial-delay-ms 0] [--commit-seconds 5] [--window 64] "
          "[--heartbeat-ms 1000] [--keep]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  if (o.spate.empty()) die("no spate binary: pass --spate PATH");
  return o;
}

}  // namespace
}  // namespace spate::bench

int main(int argc, char** argv) {
  using namespace spate::bench;
  options o = parse_args(argc, argv);
  g_heartbeat_ms = o.heartbeat_ms;
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) die("cannot create " + o.dir + ": " + ec.message());
  ::signal(SIGPIPE, SIG_IGN);
  std::printf("group_bench: librdkafka %s, %ld CPUs, broker %s\n\n", rd_kafka_version_str(),
              sysconf(_SC_NPROCESSORS_ONLN), o.spate.c_str());

  std::printf("floors (measured now)\n");
  summary rtt = measure_rtt(1.0);
  std::printf("  RTT     p50 %.1f µs, p99 %.1f µs: 1 KiB TCP ping-pong round trip, loopback\n",
              rtt.p50_us, rtt.p99_us);
  summary fsync = measure_fsync(o.dir, 1.0);
  std::printf("  F_sync  p50 %.0f µs, p99 %.0f µs: 1 KiB append + fdatasync in %s (%zu syncs)\n\n",
              fsync.p50_us, fsync.p99_us, o.dir.c_str(), fsync.count);
  std::fflush(stdout);

  std::printf(
      "join to Stable (librdkafka consumers, range assignor, heartbeat.interval.ms=%d; broker "
      "group.initial.rebalance.delay.ms=%d)\n",
      o.heartbeat_ms, o.initial_delay_ms);
  std::printf(
      "| case | members | partitions | runs: seconds to Stable (assignment callbacks) | "
      "median s | median / RTT | client CPU s | broker CPU s |\n");
  std::printf("|---|---:|---:|---|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  {
    broker_process b(o, "join");
    b.start(o.initial_delay_ms);
    int group_no = 0;
    for (int n : o.sizes) {
      int partitions = std::max(n, 8);
      std::string topic = "join-" + std::to_string(n);
      create_topic(b.bootstrap, topic, partitions);
      std::vector<double> secs;
      std::string runs;
      double client0 = client_cpu_seconds();
      double broker0 = proc_cpu_seconds(b.pid());
      for (int i = 0; i < o.repeats; ++i) {
        auto r = join_once(b.bootstrap, topic, partitions, n,
                           "bench-join-" + std::to_string(++group_no));
        char buf[64];
        if (r.seconds < 0) {
          std::snprintf(buf, sizeof buf, "%stimeout (%d)", runs.empty() ? "" : ", ", r.assigns);
        } else {
          std::snprintf(buf, sizeof buf, "%s%.3f (%d)", runs.empty() ? "" : ", ", r.seconds,
                        r.assigns);
          secs.push_back(r.seconds);
        }
        runs += buf;
      }
      double client = client_cpu_seconds() - client0;
      double broker = proc_cpu_seconds(b.pid()) - broker0;
      std::sort(secs.begin(), secs.end());
      double median = secs.empty() ? -1 : secs[secs.size() / 2];
      std::printf("| J%d | %d | %d | %s | %.3f | %.0f | %.1f | %.2f |\n", n, n, partitions,
                  runs.c_str(), median, rtt.p50_us > 0 ? median * 1e6 / rtt.p50_us : 0, client,
                  broker);
      std::fflush(stdout);
    }
  }

  std::printf(
      "\noffset commits (one member, one partition per commit, broker "
      "--flush-policy always)\n");
  {
    broker_process b(o, "commit");
    b.start(o.initial_delay_ms);
    create_topic(b.bootstrap, "commits", 8);
    auto r = run_commits(o, b.bootstrap, b.pid(), "commits");
    // The disk's sync latency drifts with other users of the machine: measure it again now and
    // judge against the faster of the two (a ratio can then only look worse, not better).
    summary again = measure_fsync(o.dir, 1.0);
    std::printf("  F_sync again: p50 %.0f µs, p99 %.0f µs (%zu syncs)\n", again.p50_us,
                again.p99_us, again.count);
    double f_sync = std::min(fsync.p50_us, again.p50_us);
    double ideal_sync = 1e6 / (rtt.p50_us + f_sync);
    double sync_floor = 1e6 / f_sync;
    std::printf("| case | commits/s | latency p50 / p99 / max µs | floor | ratio |\n");
    std::printf("|---|---:|---|---|---:|\n");
    std::printf("| Csync | %.0f | %.0f / %.0f / %.0f | 1/(RTT+F_sync) = %.0f/s | %.2f |\n",
                r.sync_rate, r.sync_latency.p50_us, r.sync_latency.p99_us, r.sync_latency.max_us,
                ideal_sync, r.sync_rate / ideal_sync);
    std::printf("| Casync (window %d) | %.0f | - | 1/F_sync = %.0f/s | %.2f |\n", o.window,
                r.async_rate, sync_floor, r.async_rate / sync_floor);
    std::printf("broker CPU per async commit: %.1f µs; failed commits: %lld\n",
                r.broker_cpu_per_commit_us, static_cast<long long>(r.failed));
  }
  return 0;
}
