// The crash test: storage_crash_child appends with durable acknowledgement and is killed with
// SIGKILL at a random moment; the test then opens the same data folder in-process (recovery
// runs) and checks that
//   - every acknowledged batch is present at its offset, byte-identical to what was written;
//   - every batch in the log, acknowledged or not, is byte-identical to what was written at its
//     offset, and offsets are contiguous from the log start to the log end;
//   - the log accepts, and durably acknowledges, a new append.
// and then starts the next round on the same folder. Rounds: $SPATE_CRASH_ROUNDS (default 5;
// the `slow` ctest entry runs 50). Seed: $SPATE_CRASH_SEED (default random; printed).
//
// SIGKILL loses no page cache, so this test finds recovery bugs (a torn or cut tail, a crash
// inside a roll, during recovery itself, or with a stale clean-shutdown marker) and
// acknowledgements sent before the data was written; power loss is the fault-injecting
// filesystem's job (model_test.cc, and the regression test at the end of this file for what a
// kill leaves in the page cache).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "storage/log_manager.h"
#include "storage/tests/crash_workload.h"
#include "support/temp_dir.h"

extern char** environ;

namespace spate::storage {
namespace {

using std::chrono::milliseconds;

constexpr int partitions = 3;
// Generous: a sanitizer build opens and recovers slowly, and the test must never hang.
constexpr auto child_ready_timeout = std::chrono::seconds(60);
constexpr auto child_exit_timeout = std::chrono::seconds(30);
// The log kept per partition; older batches were checked in earlier rounds and are deleted
// with delete_records, so that each round reads a bounded amount.
constexpr uint64_t keep_bytes = 2 << 20;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// A running storage_crash_child and the read end of its stdout.
class child_process {
 public:
  child_process(const std::string& dir, uint64_t seed, bool os) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears close-on-exec on the child's stdout; the pipe's own ends close at exec.
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::string path = SPATE_CRASH_CHILD;
    std::string parts = std::to_string(partitions);
    std::string seed_arg = std::to_string(seed);
    std::string os_arg = "os";
    std::vector<char*> argv{path.data(),     const_cast<char*>(dir.c_str()), parts.data(),
                            seed_arg.data(), os ? os_arg.data() : nullptr,   nullptr};
    int rc = posix_spawn(&_pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      _pid = -1;
      ::close(fds[0]);
      return;
    }
    _fd = fds[0];
  }
  ~child_process() {
    if (_pid > 0) {
      ::kill(_pid, SIGKILL);
      (void)wait(std::chrono::seconds(5));
    }
    if (_fd >= 0) ::close(_fd);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool started() const { return _pid > 0; }

  // Reads whole lines until `deadline`, EOF or `stop` returns true for a line. Returns false
  // at EOF. A partial last line is kept back: only a line received whole counts.
  template <class Stop>
  bool read_lines(mono_clock::time_point deadline, std::vector<std::string>& out, Stop stop) {
    for (;;) {
      for (size_t nl; (nl = _pending.find('\n')) != std::string::npos;) {
        out.push_back(_pending.substr(0, nl));
        _pending.erase(0, nl + 1);
        if (stop(out.back())) return true;
      }
      auto now = mono_clock::now();
      if (now >= deadline) return true;
      pollfd pfd{_fd, POLLIN, 0};
      int wait_ms = static_cast<int>(std::chrono::ceil<milliseconds>(deadline - now).count());
      int n = ::poll(&pfd, 1, wait_ms);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;  // timeout: the deadline check above returns
      char buf[65536];
      ssize_t got = ::read(_fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      _pending.append(buf, static_cast<size_t>(got));
    }
  }

  void kill() { ::kill(_pid, SIGKILL); }

  // Reaps the child; its wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::nanoseconds timeout) {
    auto deadline = mono_clock::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(_pid, &st, WNOHANG);
      if (r == _pid) {
        _pid = -1;
        return st;
      }
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (mono_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(1));
    }
  }

  size_t partial_bytes() const { return _pending.size(); }

 private:
  pid_t _pid = -1;
  int _fd = -1;
  std::string _pending;
};

std::string describe_status(int st) {
  if (WIFSIGNALED(st)) return "killed by signal " + std::to_string(WTERMSIG(st));
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  return "wait status " + std::to_string(st);
}

struct ack {
  offset next;
  uint32_t crc = 0;
};

// A batch found in the recovered log.
struct stored_batch {
  offset base;
  offset next;
  uint32_t crc = 0;
  uint64_t end = 0;  // bytes from the log start to the end of this batch
};
using stored_batches = std::vector<stored_batch>;

class crash_test : public ::testing::Test {
 protected:
  // Parses the child's lines into _acks. False (with a test failure) on a malformed line.
  bool record_acks(const std::vector<std::string>& lines, size_t& count) {
    for (auto& line : lines) {
      if (line == "ready") continue;
      std::istringstream in(line);
      std::string word;
      int32_t p = -1;
      int64_t base = -1, next = -1;
      uint32_t crc = 0;
      if (!(in >> word >> p >> base >> next >> crc) || word != "ack" || p < 0 || p >= partitions ||
          base < 0 || next <= base) {
        ADD_FAILURE() << "malformed line from the child: '" << line << "'";
        return false;
      }
      auto [it, fresh] = _acks[p].emplace(offset(base), ack{offset(next), crc});
      if (!fresh && (it->second.next != offset(next) || it->second.crc != crc)) {
        // A batch acknowledged in an earlier round was written again differently: the log
        // lost it and the child refilled the offset.
        ADD_FAILURE() << "partition " << p << " offset " << base
                      << " acknowledged twice with different content";
        return false;
      }
      ++count;
    }
    return true;
  }

  // Reads partition `p` from its log start to its end and checks it against the workload
  // and the acknowledgements. Fills `batches` with what it found (for trimming).
  void verify(partition_log& log, int32_t p, stored_batches& batches) {
    SCOPED_TRACE("partition " + std::to_string(p));
    EXPECT_EQ(log.log_start(), _log_start[p]) << "log start offset not kept";
    offset next = log.log_start();
    uint64_t bytes = 0;
    while (next < log.log_end()) {
      auto r = log.read(next, 1 << 20);
      ASSERT_TRUE(r) << r.error().message();
      ASSERT_GT(r->slice.size, 0u) << "empty read at offset " << next.value << " below log end "
                                   << log.log_end().value << " (a gap)";
      byte_buffer data(r->slice.size);
      auto n = r->slice.file->read_at(r->slice.position, data);
      ASSERT_TRUE(n && *n == data.size()) << "short read of the log file";
      for (size_t pos = 0; pos < data.size();) {
        ASSERT_GE(data.size() - pos, batch_layout::header_size);
        auto h = batch_header::parse(bytes_view(data).subspan(pos));
        ASSERT_EQ(h.base_offset, next) << "offsets not contiguous";
        ASSERT_LE(h.total_size(), data.size() - pos);
        bytes_view stored = bytes_view(data).subspan(pos, h.total_size());
        byte_buffer expected = crash_workload::make_batch(_seed, partition_id(p), next);
        ASSERT_TRUE(std::equal(stored.begin(), stored.end(), expected.begin(), expected.end()))
            << "batch at offset " << next.value << " (" << stored.size()
            << " bytes) differs from what was written (" << expected.size() << " bytes)";
        pos += h.total_size();
        bytes += h.total_size();
        next = h.next_offset();
        batches.push_back({h.base_offset, h.next_offset(), h.crc, bytes});
      }
    }
    ASSERT_EQ(next, log.log_end());
    // Every acknowledged batch at or above the log start must be one of those just read.
    size_t checked = 0;
    for (auto it = _acks[p].lower_bound(log.log_start()); it != _acks[p].end(); ++it) {
      auto found = std::lower_bound(batches.begin(), batches.end(), it->first,
                                    [](const stored_batch& b, offset o) { return b.base < o; });
      ASSERT_TRUE(found != batches.end() && found->base == it->first)
          << "acknowledged batch at offset " << it->first.value << " (next "
          << it->second.next.value << ") is missing; log end " << log.log_end().value;
      ASSERT_EQ(found->next, it->second.next);
      // The stored batch equals the regenerated one (above), so this also checks that the
      // child and the test agree on the workload.
      ASSERT_EQ(found->crc, it->second.crc) << "acknowledged batch at offset " << it->first.value;
      ++checked;
    }
    _checked += checked;
  }

  // Appends one batch of the workload to each partition and waits for its durable
  // acknowledgement, then trims old data, so the next child continues from a log this
  // process wrote to.
  void append_and_trim(log_manager& lm, std::vector<stored_batches>& all) {
    for (int32_t p = 0; p < partitions; ++p) {
      auto log = lm.get({crash_workload::topic, partition_id(p)});
      ASSERT_TRUE(log) << log.error().message();
      offset base = (*log)->log_end();
      byte_buffer batch = crash_workload::make_batch(_seed, partition_id(p), base);
      uint32_t crc = load_be<uint32_t>(batch.data() + batch_layout::crc);
      auto a = (*log)->append(batch, wall_now());
      ASSERT_TRUE(a) << "append after recovery failed: " << a.error().message();
      ASSERT_EQ(a->base_offset, base);
      std::promise<std::pair<status, durability>> done;
      auto fut = done.get_future();
      (*log)->when_durable(a->next_offset, [&done](status s, durability d) {
        done.set_value({s, d});
      });
      ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready)
          << "no durability callback";
      auto [s, d] = fut.get();
      ASSERT_TRUE(s) << s.error().message();
      ASSERT_EQ(d, durability::disk);
      _acks[p].emplace(base, ack{a->next_offset, crc});

      auto& batches = all[p];
      if (!batches.empty() && batches.back().end > 2 * keep_bytes) {
        uint64_t cut = batches.back().end - keep_bytes;
        // The first batch that ends past `cut`: everything before it goes.
        auto it = std::lower_bound(batches.begin(), batches.end(), cut,
                                   [](const stored_batch& b, uint64_t c) { return b.end < c; });
        auto st = (*log)->delete_records(it->base);
        ASSERT_TRUE(st) << st.error().message();
        _log_start[p] = *st;
      }
    }
  }

  void run_round(int round, std::mt19937_64& rng) {
    SCOPED_TRACE("round " + std::to_string(round));
    child_process child(_dir.path(), _seed, _os);
    ASSERT_TRUE(child.started()) << "cannot start " << SPATE_CRASH_CHILD;
    std::vector<std::string> lines;
    auto started = mono_clock::now();
    // One round in eight kills the child within a few milliseconds of its start, likely while
    // it recovers the folder; the rest let it append for 20-300 ms.
    bool early = rng() % 8 == 0;
    milliseconds delay(early ? rng() % 15 : 20 + rng() % 281);
    bool ready = false;
    bool open = true;
    if (early) {
      open = child.read_lines(started + delay, lines, [](auto&) { return false; });
    } else {
      open = child.read_lines(started + child_ready_timeout, lines,
                              [&](const std::string& l) { return ready = l == "ready"; });
      ASSERT_TRUE(ready) << "the child did not start appending";
      open = child.read_lines(mono_clock::now() + delay, lines, [](auto&) { return false; });
    }
    ASSERT_TRUE(open) << "the child stopped by itself";
    auto killed = mono_clock::now();
    child.kill();
    // Everything the child wrote before it died is still in the pipe; read it to EOF.
    bool eof = !child.read_lines(mono_clock::now() + child_exit_timeout, lines,
                                 [](auto&) { return false; });
    ASSERT_TRUE(eof) << "no EOF from the killed child";
    auto st = child.wait(child_exit_timeout);
    ASSERT_TRUE(st) << "the killed child was not reaped";
    ASSERT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL)
        << "the child was not killed by us: " << describe_status(*st);
    auto reaped = mono_clock::now();
    size_t acks = 0;
    ASSERT_TRUE(record_acks(lines, acks));

    io::posix_filesystem fs;
    log_manager::options opts{.data_dir = _dir.path(), .defaults = crash_workload::config()};
    auto lm = log_manager::open(fs, opts);
    ASSERT_TRUE(lm) << "reopening after the kill: " << lm.error().message();
    uint64_t truncated = 0;
    std::string notes;
    for (auto& r : (*lm)->recovery()) {
      truncated += r.truncated_bytes;
      for (auto& n : r.notes) notes += "\n    " + r.dir + ": " + n;
    }
    _truncated += truncated;
    std::vector<stored_batches> batches(partitions);
    std::string ends;
    for (int32_t p = 0; p < partitions; ++p) {
      auto log = (*lm)->get({crash_workload::topic, partition_id(p)});
      if (!log && _acks[p].empty()) continue;  // killed before it was created
      ASSERT_TRUE(log) << "partition " << p << " with acknowledged data is gone";
      verify(**log, p, batches[p]);
      if (HasFatalFailure()) return;
      ends += " [" + std::to_string((*log)->log_start().value) + ", " +
              std::to_string((*log)->log_end().value) + ")/" +
              std::to_string((*log)->segment_count());
    }
    auto verified = mono_clock::now();
    _acks_total += acks;

    // Partitions the child never created are created now, so every round appends to all.
    for (int32_t p = 0; p < partitions; ++p) {
      auto log = (*lm)->get_or_create({crash_workload::topic, partition_id(p)});
      ASSERT_TRUE(log) << log.error().message();
    }
    append_and_trim(**lm, batches);
    if (HasFatalFailure()) return;
    auto closed = (*lm)->close();
    ASSERT_TRUE(closed) << closed.error().message();
    auto ms = [](auto d) {
      return static_cast<long long>(std::chrono::round<milliseconds>(d).count());
    };
    std::printf(
        "round %2d: killed %s%3lld ms, %5zu acks, logs%s, %llu bytes cut; "
        "reaped %lld ms, recovered+verified %lld ms, appended+closed %lld ms%s\n",
        round, early ? "at start +" : "appending +", static_cast<long long>(delay.count()), acks,
        ends.c_str(), static_cast<unsigned long long>(truncated), ms(reaped - killed),
        ms(verified - reaped), ms(mono_clock::now() - verified), notes.c_str());
    std::fflush(stdout);
  }

  // Runs rounds as the test named, and reports.
  void run_rounds(const char* what) {
    int rounds = env_int("SPATE_CRASH_ROUNDS", 5);
    const char* seed_env = std::getenv("SPATE_CRASH_SEED");
    _seed = seed_env && *seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device()();
    std::printf("crash test (%s): %d rounds, %d partitions, SPATE_CRASH_SEED=%llu, folder %s\n",
                what, rounds, partitions, static_cast<unsigned long long>(_seed),
                _dir.path().c_str());
    std::mt19937_64 rng(_seed);
    auto start = mono_clock::now();
    for (int round = 1; round <= rounds; ++round) {
      run_round(round, rng);
      if (HasFailure()) break;
    }
    auto secs = std::chrono::duration<double>(mono_clock::now() - start).count();
    std::printf(
        "crash test: %zu acks received, %zu acknowledged batches checked, %llu bytes cut, "
        "%.1f s\n",
        _acks_total, _checked, static_cast<unsigned long long>(_truncated), secs);
    EXPECT_GT(_acks_total, 0u) << "no round got as far as an acknowledged append";
  }

  test::temp_dir _dir;
  bool _os = false;  // the child appends under `os`, through the append ring
  uint64_t _seed = 0;
  std::map<offset, ack> _acks[partitions];  // by base offset, per partition
  offset _log_start[partitions] = {};
  size_t _acks_total = 0;
  size_t _checked = 0;
  uint64_t _truncated = 0;
};

TEST_F(crash_test, acknowledged_batches_survive_sigkill) {
  run_rounds("always");
}

// The same under `os` with the append ring: a batch is acknowledged when its append returns,
// often while it is only in the ring, and a SIGKILL keeps the ring's pages; the next open
// copies its tail into the segment. (The test reopens with `always`, which recovers alike.)
TEST_F(crash_test, acknowledged_batches_survive_sigkill_in_the_append_ring) {
  _os = true;
  run_rounds("os, append ring");
}

// Regression: a process killed between a write and its fdatasync leaves the batch in the page
// cache; the next process recovered it, served it and answered when_durable with `disk`
// without syncing, so a power loss then took away a batch reported durable.
TEST(crash_regression, recovery_makes_what_it_keeps_durable) {
  test::temp_dir dir;
  io::posix_filesystem real;
  io::fault_injecting_filesystem fs(real);
  flusher flusher;
  // Logs that "die" are never closed (close() would sync) but kept until the end of the test,
  // so nothing leaks.
  std::unique_ptr<partition_log> dead;
  std::unique_ptr<partition_log> recovered;
  {
    // The dead process: wrote, and died before its sync (the interval never comes).
    log_config never;
    never.flush = flush_policy::interval;
    never.flush_interval_ms = 3'600'000;
    auto log = partition_log::open(fs, dir / "t-0", never, flusher);
    ASSERT_TRUE(log) << log.error().message();
    dead = std::move(*log);
    auto batch = test::make_batch(3, 100);
    ASSERT_TRUE(dead->append(batch, wall_now()));
  }
  auto log = partition_log::open(fs, dir / "t-0", log_config{}, flusher);
  ASSERT_TRUE(log) << log.error().message();
  recovered = std::move(*log);
  ASSERT_EQ(recovered->log_end(), offset(3));
  std::optional<durability> reached;
  recovered->when_durable(offset(3), [&](status s, durability d) {
    EXPECT_TRUE(s);
    reached = d;
  });
  ASSERT_EQ(reached, durability::disk);  // already durable: answered on this thread
  // And now the power goes.
  ASSERT_TRUE(fs.simulate_power_loss());
  auto after = partition_log::open(real, dir / "t-0", log_config{}, flusher);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ((*after)->log_end(), offset(3)) << "a batch reported durable was lost";
}

}  // namespace
}  // namespace spate::storage
