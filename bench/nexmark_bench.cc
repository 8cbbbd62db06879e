// nexmark_bench: Nexmark queries on the stream engine, in events/s per CPU core, beside
// Flink's published per-core figures and targets S1-S3 of performance.md.
//
//   build/release/bench/nexmark_bench                       # in-process, then via the broker
//   build/release/bench/nexmark_bench --events 2000000 --queries q0,q5 --mode in-process
//
// Workload: Flink's V2 generator settings for one split (nexmark.md §1.6: 100 k events/s over
// 8 generators, so D = 80 µs, 10 s windows of 125 k events, auctions of ~133 ms; channel and
// url on bids), a fixed seed, Beam's bidder offset. Results go to no sink (Flink's blackhole).
//
// in-process: for each query a fresh engine and the CPU time of the processing thread
// (CLOCK_THREAD_CPUTIME_ID) as the denominator: events/s per core = events / CPU-seconds.
// Three feeds (--feeds): `records`, pre-built input_records (generated and serialized with
// the compact binary serde first, not timed; a second column adds the generator's own CPU per
// event); `bytes`, generator -> serializer -> engine::process per event in the timed thread;
// `typed`, generator -> engine::process_value per event (no bytes). Flink's figures include
// its generator, which runs in the job's source task and hands its rows to the chained
// operators without serializing them: `typed` is the feed that matches that.
//
// broker: starts `spate broker` (--port 0, a fresh data folder under --dir, flush policy os),
// produces the serialized events to a one-partition topic with the client module's producer,
// then per query reads them back from the beginning with the client module's consumer,
// feeding the engine, until the end of the partition. CPU is this process's (getrusage:
// the consumer thread and librdkafka's threads) and, printed separately, the broker's
// (/proc/<pid>/stat).
//
// runtime (--mode runtime): through the stream runtime (stream::application, application.h),
// as a deployment runs it. The events go round-robin to a topic of --partitions N partitions
// (each partition in event-time order, null keys); per query, one application instance runs N
// tasks (a task per partition) with its checkpoints (changelog, commits every
// --commit-interval-ms) and, for queries with a key_by (q4, q5, q7, ...), its repartition
// topics. It runs until it has processed every event and its record count has stood still for
// 5 s; CPU is this process's (the application's loop thread, librdkafka's threads) up to the
// last record processed, and the broker's, printed separately.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "nexmark/generator.h"
#include "nexmark/queries.h"
#include "spate/stream/application.h"

#ifndef SPATE_BINARY
#define SPATE_BINARY ""
#endif

namespace {

namespace fs = std::filesystem;
using namespace spate;

// Flink's per-core figures (nexmark.md §4.5): V1 runner (Flink 1.13) and V2 (derived).
const std::map<std::string, std::pair<double, double>> flink_per_core = {
    {"q0", {155.02e3, 378e3}}, {"q1", {157.94e3, 395e3}}, {"q2", {175.21e3, 414e3}},
    {"q3", {152.12e3, 219e3}}, {"q4", {34.33e3, 28.2e3}}, {"q5", {22.14e3, 74.5e3}},
    {"q7", {12.33e3, 22.9e3}}, {"q8", {146.14e3, 162e3}},
};
// performance.md: S1 q0-q2 >= 1.5 M/core, S2 q5 >= 220 k/core, S3 geomean >= 5 x Flink V1.
constexpr double s1_target = 1.5e6;
constexpr double s2_target = 220e3;
constexpr double s3_target_ratio = 5.0;

struct options {
  int64_t events = 1'000'000;
  uint64_t seed = 42;
  std::vector<std::string> queries = {"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"};
  bool in_process = true;
  bool broker = true;
  bool runtime = false;
  int partitions = 4;        // runtime: input partitions, so tasks
  int64_t commit_ms = 5000;  // runtime: application_config::commit_interval
  std::string spate = SPATE_BINARY;
  std::string dir = "./nexmark_bench.data";
  // In-process: take a checkpoint (outputs and the state changes, discarded) every this many
  // records, as a runtime does every commit_interval; 0: never. Without it the state changes
  // would pile up in the store's change capture for the whole run, which no runtime does.
  int64_t checkpoint_every = 100'000;
  // In-process feeds to run (see main): pre-serialized records, generator -> bytes -> engine,
  // generator -> typed source.
  bool feed_records = true;
  bool feed_bytes = true;
  bool feed_typed = true;
};

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
double process_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
// utime + stime of every thread of `pid` (fields 14 and 15 of /proc/<pid>/stat).
double pid_cpu_s(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto paren = s.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(s.substr(paren + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) st = std::strtoull(field.c_str(), nullptr, 10);
  }
  return double(ut + st) / double(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "nexmark_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string fmt_rate(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  }
  return buf;
}

const nexmark::query_entry& query_named(const std::string& name) {
  for (auto& q : nexmark::all_queries()) {
    if (q.name == name) return q;
  }
  die("unknown query " + name);
}

stream::engine make_engine(const std::string& query, const nexmark::query_config& qc) {
  stream::topology_builder b;
  query_named(query).add(b, qc);
  auto t = b.build();
  if (!t) die(t.error().message());
  auto e = stream::engine::create(std::move(*t));
  if (!e) die(e.error().message());
  if (!e->start(timestamp_ms(0))) die("engine start");
  if (!e->assign(qc.source_topic, {partition_id(0)})) die("assign");
  return std::move(*e);
}

struct measurement {
  std::string query;
  double cpu_s = 0;  // processing CPU (in-process: the thread; broker: the process)
  double wall_s = 0;
  double broker_cpu_s = 0;
  uint64_t records_processed = 0;  // runtime: source and repartition records
};

// One row of the table: per-core figures and their ratios to Flink.
void print_row(const measurement& m, int64_t events, double gen_cpu_per_event) {
  double per_core = double(events) / m.cpu_s;
  double with_gen = double(events) / (m.cpu_s + gen_cpu_per_event * double(events));
  auto [v1, v2] = flink_per_core.at(m.query);
  std::printf("%-4s %9.2f %8.2f %12s %12s %10s %8.1fx %10s %8.1fx\n", m.query.c_str(), m.cpu_s,
              m.wall_s, fmt_rate(per_core).c_str(), fmt_rate(with_gen).c_str(),
              fmt_rate(v1).c_str(), per_core / v1, fmt_rate(v2).c_str(), per_core / v2);
}

void print_header(const char* cpu_label) {
  std::printf("%-4s %9s %8s %12s %12s %10s %9s %10s %9s\n", "q", cpu_label, "wall s", "ev/s/core",
              "+generator", "Flink V1", "ratio", "Flink V2", "ratio");
}

void print_targets(const std::vector<measurement>& ms, int64_t events) {
  double log_sum = 0;
  int n = 0;
  for (auto& m : ms) {
    double per_core = double(events) / m.cpu_s;
    double v1 = flink_per_core.at(m.query).first;
    if (m.query == "q0" || m.query == "q1" || m.query == "q2") {
      std::printf("  S1 %s: %s/core vs target %s: %.2f of target (%s)\n", m.query.c_str(),
                  fmt_rate(per_core).c_str(), fmt_rate(s1_target).c_str(), per_core / s1_target,
                  per_core >= s1_target ? "met" : "MISSED");
    }
    if (m.query == "q5") {
      std::printf("  S2 q5: %s/core vs target %s: %.2f of target (%s)\n",
                  fmt_rate(per_core).c_str(), fmt_rate(s2_target).c_str(), per_core / s2_target,
                  per_core >= s2_target ? "met" : "MISSED");
    }
    log_sum += std::log(per_core / v1);
    ++n;
  }
  if (n > 0) {
    double g = std::exp(log_sum / n);
    std::printf(
        "  S3 geometric mean of (per core / Flink V1) over %d queries: %.2fx vs target "
        "%.0fx (%s)\n",
        n, g, s3_target_ratio, g >= s3_target_ratio ? "met" : "MISSED");
  }
}

// --- in-process -----------------------------------------------------------------------------

// Runs one query over `events` inputs in this thread: `feed(engine, i)` hands it input i.
// Output is taken every 1024 inputs (none without a sink) and the state checkpointed every
// `checkpoint_every` (a runtime would produce these changes to the changelog). The thread's
// CPU covers whatever `feed` does.
template <class Feed>
measurement drive(const std::string& query, const nexmark::query_config& qc, int64_t events,
                  int64_t checkpoint_every, Feed feed) {
  auto eng = make_engine(query, qc);
  measurement m{query};
  int64_t since_checkpoint = 0;
  double c0 = thread_cpu_s(), w0 = wall_s();
  for (int64_t i = 0; i < events; ++i) {
    if (auto s = feed(eng, i); !s) die(s.error().message());
    if ((i & 1023) == 0) eng.take_output();
    if (checkpoint_every > 0 && ++since_checkpoint == checkpoint_every) {
      since_checkpoint = 0;
      eng.checkpoint();
    }
  }
  if (!eng.end_of_input()) die("end_of_input");
  eng.take_output();
  if (checkpoint_every > 0) eng.checkpoint();
  m.cpu_s = thread_cpu_s() - c0;
  m.wall_s = wall_s() - w0;
  return m;
}

measurement run_in_process(const std::string& query, const nexmark::query_config& qc,
                           const std::vector<stream::input_record>& records,
                           int64_t checkpoint_every) {
  return drive(
      query, qc, static_cast<int64_t>(records.size()), checkpoint_every,
      [&](stream::engine& eng, int64_t i) { return eng.process(records[static_cast<size_t>(i)]); });
}

// The generator in the processing thread, as Flink's datagen source runs inside the job: each
// event is made by the generator, serialized to the source's bytes and handed to the engine,
// which decodes it. The thread's CPU covers all of it.
measurement run_generated_bytes(const std::string& query, const nexmark::query_config& qc,
                                const nexmark::generator& gen, int64_t events,
                                int64_t checkpoint_every) {
  stream::input_record r{.topic = qc.source_topic};
  return drive(query, qc, events, checkpoint_every, [&](stream::engine& eng, int64_t i) {
    nexmark::event e = gen.at(i);
    r.offset = offset(i);
    r.timestamp = timestamp_ms(e.date_time());
    r.value = qc.event_serde.serialize(e);
    return eng.process(r);
  });
}

// The generator in the processing thread handing each event to the source as a value
// (engine::process_value): no bytes at all, as Flink's datagen source passes the rows it makes
// to the operators chained to it (its RowDataEventDeserializer wraps the generated objects in
// GenericRowData, it does not serialize them). The thread's CPU covers generator and query.
measurement run_generated_typed(const std::string& query, const nexmark::query_config& qc,
                                const nexmark::generator& gen, int64_t events,
                                int64_t checkpoint_every) {
  return drive(query, qc, events, checkpoint_every, [&](stream::engine& eng, int64_t i) {
    nexmark::event e = gen.at(i);
    auto t = timestamp_ms(e.date_time());
    return eng.process_value(qc.source_topic, partition_id(0), offset(i), std::move(e), t);
  });
}

// --- broker ---------------------------------------------------------------------------------

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);  // else the child would write our buffered output again
  int fd = open(log.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  pid_t pid = fork();
  if (pid == 0) {
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (fd >= 0) close(fd);
  return pid;
}

struct broker {
  pid_t pid = -1;
  std::string bootstrap;
  ~broker() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int st = 0;
      waitpid(pid, &st, 0);
    }
  }
};

void start_broker(const options& o, broker& b) {
  if (o.spate.empty()) die("no spate binary (--spate)");
  std::string data = o.dir + "/broker";
  std::string log = o.dir + "/broker.log";
  std::error_code ec;
  fs::remove_all(data, ec);
  fs::create_directories(data, ec);
  b.pid = spawn({o.spate, "broker", "--data-dir", data, "--port", "0", "--flush-policy", "os",
                 "--num-partitions", "1", "--log-level", "info"},
                log);
  const std::string marker = "ready: Kafka clients can connect to ";
  for (int i = 0; i < 600; ++i) {
    std::string text = read_text(log);
    auto at = text.find(marker);
    auto eol = at == std::string::npos ? at : text.find('\n', at);
    if (eol != std::string::npos) {
      std::string addr = text.substr(at + marker.size(), eol - at - marker.size());
      b.bootstrap = "127.0.0.1:" + addr.substr(addr.rfind(':') + 1);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  die("broker did not become ready; see " + log);
}

// Event i goes to partition i % partitions: each partition stays in event-time order.
void produce_all(const broker& b, const std::string& topic,
                 const std::vector<stream::input_record>& records, int partitions = 1) {
  client::client_config cfg{.bootstrap = b.bootstrap, .client_id = "nexmark-bench"};
  auto admin = client::admin::connect(cfg);
  if (!admin) die(admin.error().message());
  if (auto s = admin->create_topic({.name = topic, .partitions = partitions}); !s) {
    die(s.error().message());
  }
  auto p = client::producer::connect(
      cfg, {.acks = client::acks_mode::leader, .linger = std::chrono::milliseconds(5)});
  if (!p) die(p.error().message());
  double w0 = wall_s(), c0 = process_cpu_s(), bc0 = pid_cpu_s(b.pid);
  int32_t next = 0;
  for (auto& r : records) {
    auto id = p->produce({.topic = topic,
                          .value = r.value,
                          .partition = partition_id(next),
                          .timestamp = r.timestamp});
    if (!id) die(id.error().message());
    next = next + 1 == partitions ? 0 : next + 1;
  }
  if (auto s = p->flush(std::chrono::minutes(5)); !s) die(s.error().message());
  for (auto& d : p->poll()) {
    if (!d.outcome) die("delivery: " + d.outcome.error().message());
  }
  double w = wall_s() - w0;
  std::printf("produced %zu events in %.2f s (%s events/s; client CPU %.2f s, broker CPU %.2f s)\n",
              records.size(), w, fmt_rate(double(records.size()) / w).c_str(), process_cpu_s() - c0,
              pid_cpu_s(b.pid) - bc0);
}

measurement run_from_broker(const std::string& query, const nexmark::query_config& qc,
                            const broker& b, int64_t events) {
  auto eng = make_engine(query, qc);
  client::client_config cfg{.bootstrap = b.bootstrap, .client_id = "nexmark-bench-" + query};
  auto c = client::consumer::connect(cfg);
  if (!c) die(c.error().message());
  measurement m{query};
  double c0 = process_cpu_s(), w0 = wall_s(), bc0 = pid_cpu_s(b.pid);
  if (auto s = c->assign(qc.source_topic, {}, client::start_position::beginning()); !s) {
    die(s.error().message());
  }
  int64_t seen = 0;
  while (seen < events) {
    auto ev = c->poll(std::chrono::milliseconds(500));
    if (!ev) die(ev.error().message());
    if (!*ev) continue;
    if (auto* msg = std::get_if<client::message>(&**ev)) {
      if (auto s = eng.process(stream::to_input_record(std::move(*msg))); !s) {
        die(s.error().message());
      }
      if ((++seen & 1023) == 0) eng.take_output();  // none without a sink
    }
  }
  if (!eng.end_of_input()) die("end_of_input");
  eng.take_output();  // none without a sink
  m.cpu_s = process_cpu_s() - c0;
  m.wall_s = wall_s() - w0;
  m.broker_cpu_s = pid_cpu_s(b.pid) - bc0;
  return m;
}

// --- runtime --------------------------------------------------------------------------------

// Nothing when the query cannot run there (says why): a die() would leave the broker running.
std::optional<measurement> run_through_runtime(const std::string& query,
                                               const nexmark::query_config& qc, const broker& b,
                                               int64_t events, int64_t commit_ms) {
  stream::application_config cfg;
  cfg.application_id = "nexmark-bench-" + query;
  cfg.client.bootstrap = b.bootstrap;
  cfg.client.client_id = cfg.application_id;
  cfg.commit_interval = std::chrono::milliseconds(commit_ms);
  auto app = stream::application::create(
      [&qc, query] {
        stream::topology_builder builder;
        query_named(query).add(builder, qc);
        return builder.build();
      },
      std::move(cfg));
  if (!app) {
    std::printf("%-4s not run: %s\n", query.c_str(), app.error().message().c_str());
    return std::nullopt;
  }
  measurement m{query};
  double c0 = process_cpu_s(), w0 = wall_s(), bc0 = pid_cpu_s(b.pid);
  std::optional<error> failed;
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    if (auto s = app->run(); !s) failed = s.error();
    returned = true;
  });
  // Done when every event is in and the count has stood still for 5 s (repartitioned records
  // come after the events, and how many depends on the query); the figures are taken at the
  // last change, so the wait is not counted.
  uint64_t last = 0;
  double last_cpu = c0, last_wall = w0, last_broker = bc0, still_since = wall_s();
  while (!returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    uint64_t n = app->status_snapshot().records_processed;
    double now = wall_s();
    if (n != last) {
      last = n;
      last_cpu = process_cpu_s();
      last_wall = now;
      last_broker = pid_cpu_s(b.pid);
      still_since = now;
    } else if (n >= uint64_t(events) && now - still_since > 5.0) {
      break;
    }
  }
  app->stop();
  runner.join();
  if (failed) {
    std::printf("%-4s failed: %s\n", query.c_str(), failed->message().c_str());
    return std::nullopt;
  }
  m.cpu_s = last_cpu - c0;
  m.wall_s = last_wall - w0;
  m.broker_cpu_s = last_broker - bc0;
  m.records_processed = last;
  return m;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool v = i + 1 < argc;
    if (a == "--events" && v) {
      o.events = std::strtoll(argv[++i], nullptr, 10);
    } else if (a == "--seed" && v) {
      o.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--queries" && v) {
      o.queries = split(argv[++i]);
    } else if (a == "--mode" && v) {
      std::string m = argv[++i];
      o.in_process = m == "in-process" || m == "both";
      o.broker = m == "broker" || m == "both";
      o.runtime = m == "runtime";
    } else if (a == "--partitions" && v) {
      o.partitions = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--commit-interval-ms" && v) {
      o.commit_ms = std::max<int64_t>(10, std::strtoll(argv[++i], nullptr, 10));
    } else if (a == "--spate" && v) {
      o.spate = argv[++i];
    } else if (a == "--dir" && v) {
      o.dir = argv[++i];
    } else if (a == "--feeds" && v) {
      auto f = split(argv[++i]);
      auto has = [&](const char* n) { return std::find(f.begin(), f.end(), n) != f.end(); };
      o.feed_records = has("records");
      o.feed_bytes = has("bytes");
      o.feed_typed = has("typed");
    } else if (a == "--checkpoint-every" && v) {
      o.checkpoint_every = std::strtoll(argv[++i], nullptr, 10);
    } else {
      std::printf(
          "usage: nexmark_bench [--events N] [--seed S] [--queries q0,q1,...]\n"
          "                     [--mode in-process|broker|both|runtime] [--spate PATH]\n"
          "                     [--dir DIR] [--checkpoint-every RECORDS (in-process; 0: never)]\n"
          "                     [--feeds records,bytes,typed (in-process)]\n"
          "                     [--partitions N (runtime: input partitions = tasks; 4)]\n"
          "                     [--commit-interval-ms MS (runtime; 5000)]\n");
      std::exit(a == "--help" ? 0 : 2);
    }
  }
  for (auto& q : o.queries) query_named(q);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  std::printf("nproc %u, load average %s", std::thread::hardware_concurrency(),
              read_text("/proc/loadavg").c_str());

  auto gc = nexmark::generator_config::flink_v2(o.seed);
  nexmark::generator gen(gc);
  nexmark::query_config qc;
  qc.source_topic = "nexmark";
  qc.sink_topic.clear();
  qc.event_serde = nexmark::binary_event_serde();
  qc.max_auction_length_ms = gc.max_auction_length_ms();

  // The generator alone: each event made and dropped, as the generated feeds make them. The
  // pre-serialized feed (and the broker) adds its generator's CPU per event from this.
  double g0 = thread_cpu_s();
  int64_t span_ms = 0;
  for (int64_t i = 0; i < o.events; ++i) {
    nexmark::event e = gen.at(i);
    if (i == 0) span_ms = -e.date_time();
    if (i + 1 == o.events) span_ms += e.date_time();
  }
  double gen_cpu = thread_cpu_s() - g0;
  // Generate, then serialize (timed, inside no query figure): the pre-serialized records that
  // the `records` feed and the broker read.
  std::vector<stream::input_record> records;
  size_t bytes = 0;
  double ser_cpu = 0;
  if (o.feed_records || o.broker) {
    std::vector<nexmark::event> events = gen.generate(0, o.events);
    double s0 = thread_cpu_s();
    records.reserve(events.size());
    for (int64_t i = 0; i < o.events; ++i) {
      auto& e = events[size_t(i)];
      records.push_back({.topic = qc.source_topic,
                         .offset = offset(i),
                         .value = qc.event_serde.serialize(e),
                         .timestamp = timestamp_ms(e.date_time())});
      bytes += records.back().value->size();
    }
    ser_cpu = thread_cpu_s() - s0;
  }
  std::printf(
      "workload: %lld events (Flink V2 split: D = %.0f us, %.1f s of event time), seed %llu, "
      "%.1f bytes/event binary\n",
      static_cast<long long>(o.events), gc.inter_event_delay_us, double(span_ms) / 1000,
      static_cast<unsigned long long>(o.seed),
      records.empty() ? 0.0 : double(bytes) / double(o.events));
  std::printf("generator: %s events/s per core; serializer: %s events/s per core\n\n",
              fmt_rate(double(o.events) / gen_cpu).c_str(),
              ser_cpu > 0 ? fmt_rate(double(o.events) / ser_cpu).c_str() : "-");
  double gen_per_event = gen_cpu / double(o.events);

  if (o.in_process) {
    // One block per feed: its title, then every query through `run` (which measures one
    // query), each row beside the generator's CPU per event when the feed does not count it.
    auto run_feed = [&](const std::string& title, double added_gen_per_event, auto run) {
      std::printf("== in-process, %s ==\n", title.c_str());
      print_header("thread s");
      std::vector<measurement> ms;
      for (auto& q : o.queries) {
        ms.push_back(run(q));
        print_row(ms.back(), o.events, added_gen_per_event);
        std::fflush(stdout);
      }
      print_targets(ms, o.events);
      std::printf("\n");
    };
    if (o.feed_records) {
      run_feed(
          "feed `records`: engine over pre-serialized records (CPU of the processing "
          "thread), a checkpoint every " +
              std::to_string(o.checkpoint_every) + " records",
          gen_per_event,
          [&](const auto& q) { return run_in_process(q, qc, records, o.checkpoint_every); });
    }
    if (o.feed_bytes) {
      run_feed(
          "feed `bytes`: generator -> binary serde -> engine, one thread (its CPU includes the "
          "generator)",
          0, [&](const auto& q) {
            return run_generated_bytes(q, qc, gen, o.events, o.checkpoint_every);
          });
    }
    if (o.feed_typed) {
      run_feed(
          "feed `typed`: generator -> engine::process_value, one thread (its CPU includes the "
          "generator; Flink's datagen source)",
          0, [&](const auto& q) {
            return run_generated_typed(q, qc, gen, o.events, o.checkpoint_every);
          });
    }
  }

  if (o.broker) {
    std::printf("== from the broker: client consumer -> engine (CPU of this process) ==\n");
    std::error_code ec;
    fs::create_directories(o.dir, ec);
    {
      broker b;
      start_broker(o, b);
      produce_all(b, qc.source_topic, records);
      print_header("client s");
      std::vector<measurement> ms;
      for (auto& q : o.queries) {
        ms.push_back(run_from_broker(q, qc, b, o.events));
        print_row(ms.back(), o.events, gen_per_event);
        std::printf(
            "     broker CPU %.2f s; client + broker: %s events/s per core\n",
            ms.back().broker_cpu_s,
            fmt_rate(double(o.events) / (ms.back().cpu_s + ms.back().broker_cpu_s)).c_str());
        std::fflush(stdout);
      }
      print_targets(ms, o.events);
    }
    fs::remove_all(o.dir, ec);
  }

  if (o.runtime) {
    std::printf(
        "== through the runtime: stream::application, %d partitions = %d tasks in one "
        "instance, a checkpoint every %lld ms (CPU of this process) ==\n",
        o.partitions, o.partitions, static_cast<long long>(o.commit_ms));
    std::error_code ec;
    fs::create_directories(o.dir, ec);
    {
      broker b;
      start_broker(o, b);
      produce_all(b, qc.source_topic, records, o.partitions);
      print_header("client s");
      std::vector<measurement> ms;
      for (auto& q : o.queries) {
        auto m = run_through_runtime(q, qc, b, o.events, o.commit_ms);
        if (!m) continue;
        ms.push_back(*m);
        print_row(ms.back(), o.events, gen_per_event);
        std::printf(
            "     %llu records processed (%llu repartitioned); broker CPU %.2f s; "
            "client + broker: %s events/s per core\n",
            static_cast<unsigned long long>(ms.back().records_processed),
            static_cast<unsigned long long>(ms.back().records_processed - uint64_t(o.events)),
            ms.back().broker_cpu_s,
            fmt_rate(double(o.events) / (ms.back().cpu_s + ms.back().broker_cpu_s)).c_str());
        std::fflush(stdout);
      }
      print_targets(ms, o.events);
    }
    fs::remove_all(o.dir, ec);
  }
  return 0;
}
