// Randomized operation sequences against partition_log, each checked against a small in-memory
// model of what the log must hold (conventions.md §6). A seeded generator drives appends (valid
// and invalid), reads, timestamp lookups, rolls, retention, delete_records, clean reopens and
// crashes; after every operation the log must agree with the model byte for byte.
//
// Two variants: a healthy disk (any flush policy; a crash is a process crash, so everything
// written survives), and a disk that fails on purpose through io::fault_injecting_filesystem
// (ENOSPC/EIO on segment writes, failed fsyncs, truncates that cannot undo a torn write, power
// loss). The fault variant uses the `os` flush policy so that every sync happens on the test's
// thread and a seed replays exactly.
//
// A failure names the seed and lists the last operations. To replay or scale up:
//   SPATE_MODEL_SEED=17 build/model/src/storage/storage_model_test    # one seed
//   SPATE_MODEL_OPS=20000 SPATE_MODEL_SEEDS=50 build/.../storage_model_test  # long run
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/varint.h"
#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "storage/append_ring.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "support/batch_builder.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

namespace bl = batch_layout;

constexpr int64_t default_ops = 500;
constexpr int64_t default_seeds = 6;

// Crashes whose recovery restored data from the append ring, over the run's seeds.
std::atomic<int64_t> ring_restores{0};

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return (*end == '\0' && n > 0) ? n : fallback;
}

std::string show(const std::optional<timestamp_and_offset>& f) {
  return f ? std::to_string(f->off.value) + " at " + std::to_string(f->timestamp.value) : "none";
}

// Where two byte strings first differ, for a failure message that a reader can act on.
std::string describe_difference(bytes_view want, bytes_view got) {
  size_t n = std::min(want.size(), got.size());
  size_t i = 0;
  while (i < n && want[i] == got[i]) ++i;
  std::ostringstream s;
  s << "first difference at byte " << i << " (of " << want.size() << " expected, " << got.size()
    << " read)";
  if (i < n) {
    s << ": expected 0x" << std::hex << int(want[i]) << ", got 0x" << int(got[i]);
  }
  return s.str();
}

// One batch as the log must store it: the producer's bytes with the offsets the log assigned.
struct model_batch {
  offset base;
  int32_t count = 0;
  int64_t max_timestamp = -1;  // the stored header's
  // Per-record timestamps when a timestamp search looks inside the batch (CreateTime, the
  // records decompressed if need be); empty when every record has the batch's max timestamp
  // (LogAppendTime), so the search answers with the batch's first offset.
  std::vector<int64_t> record_timestamps;
  byte_buffer bytes;

  offset next() const { return base + count; }
};

// What the log must hold. Batches below log_start stay in the model as long as the segment
// holding them exists, so the log's size can be checked too.
struct log_model {
  std::deque<model_batch> batches;  // by base offset, contiguous
  offset log_start;
  offset log_end;

  // The index of the batch holding `o`, or batches.size().
  size_t find(offset o) const {
    auto it = std::upper_bound(batches.begin(), batches.end(), o,
                               [](offset v, const model_batch& b) { return v < b.base; });
    if (it == batches.begin()) return batches.size();
    --it;
    return o < it->next() ? static_cast<size_t>(it - batches.begin()) : batches.size();
  }
  // A batch start or the end: the only places where a segment may begin or a crash may cut.
  bool is_boundary(offset o) const {
    if (o == log_end) return true;
    size_t i = find(o);
    return i < batches.size() && batches[i].base == o;
  }
  // Kafka's ListOffsets by time: the first record at or after the log start whose timestamp
  // is >= t, with that timestamp. Records below the log start are deleted and never the
  // answer. A LogAppendTime batch answers with its first offset still there and its max
  // timestamp. Timestamps are not monotonic (see next_timestamp), so this is a scan.
  std::optional<timestamp_and_offset> first_at_or_after(int64_t t) const {
    for (const auto& b : batches) {
      if (b.next() <= log_start) continue;
      if (b.record_timestamps.empty()) {
        if (b.max_timestamp >= t) {
          return timestamp_and_offset{std::max(b.base, log_start), timestamp_ms(b.max_timestamp)};
        }
        continue;
      }
      for (size_t i = 0; i < b.record_timestamps.size(); ++i) {
        offset o = b.base + static_cast<int64_t>(i);
        if (o >= log_start && b.record_timestamps[i] >= t) {
          return timestamp_and_offset{o, timestamp_ms(b.record_timestamps[i])};
        }
      }
    }
    return std::nullopt;
  }
  uint64_t size_bytes() const {
    uint64_t total = 0;
    for (const auto& b : batches) total += b.bytes.size();
    return total;
  }
  // A power loss kept only [.., end).
  void truncate(offset end) {
    while (!batches.empty() && batches.back().base >= end) batches.pop_back();
    log_end = end;
    log_start = std::min(log_start, end);
  }
  // Segments below `first_segment` are gone, and the batches in them.
  void forget_below(offset first_segment) {
    while (!batches.empty() && batches.front().base < first_segment) batches.pop_front();
  }
};

// Durability completions of one log incarnation. With the `always` and `interval` policies the
// callbacks run on the flusher thread, hence the lock.
struct ack_tracker {
  std::mutex mu;
  std::condition_variable cv;
  int registered = 0;
  int completed = 0;
  std::vector<std::string> problems;
};

// A freshly produced batch, before the log has seen it.
struct produced {
  byte_buffer bytes;
  std::vector<int64_t> timestamps;
  bool compressed = false;
};

// The segment files of the log directory.
struct listing {
  std::vector<offset> logs;
  std::vector<offset> indexes;
  std::vector<offset> snapshots;  // producer-state snapshots
  std::vector<std::string> others;
};

std::optional<offset> parse_segment_name(const std::string& name, const std::string& ext) {
  if (name.size() != 20 + ext.size() || name.compare(20, ext.size(), ext) != 0) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return offset(v);
}

// Passes everything through to the real filesystem except fdatasync and directory fsync, which
// succeed at once. Durability is judged by fault_injecting_filesystem's own record of what was
// synced (its power loss drops the rest), so a real fsync would only add wall time: several
// hundred of them per seed.
class unsynced_file final : public io::file {
 public:
  explicit unsynced_file(io::file_ptr inner) : _inner(std::move(inner)) {}
  result<size_t> read_at(uint64_t pos, mutable_bytes buf) override {
    return _inner->read_at(pos, buf);
  }
  status write_at(uint64_t pos, bytes_view data) override { return _inner->write_at(pos, data); }
  status sync_data() override { return ok(); }
  status truncate(uint64_t size) override { return _inner->truncate(size); }
  result<uint64_t> size() override { return _inner->size(); }
  int native_handle() const override { return _inner->native_handle(); }
  const std::string& path() const override { return _inner->path(); }

 private:
  io::file_ptr _inner;
};

class unsynced_filesystem final : public io::filesystem {
 public:
  explicit unsynced_filesystem(io::filesystem& base) : _base(base) {}
  result<io::file_ptr> open(const std::string& path, io::open_mode mode) override {
    auto f = _base.open(path, mode);
    if (!f) return f.error();
    return io::file_ptr(std::make_shared<unsynced_file>(std::move(*f)));
  }
  status create_dirs(const std::string& path) override { return _base.create_dirs(path); }
  status remove_file(const std::string& path) override { return _base.remove_file(path); }
  status remove_all(const std::string& path) override { return _base.remove_all(path); }
  status rename(const std::string& from, const std::string& to) override {
    return _base.rename(from, to);
  }
  result<std::vector<std::string>> list_dir(const std::string& path) override {
    return _base.list_dir(path);
  }
  result<bool> exists(const std::string& path) override { return _base.exists(path); }
  status sync_dir(const std::string&) override { return ok(); }
  result<std::unique_ptr<io::dir_lock>> lock_file(const std::string& path) override {
    return _base.lock_file(path);
  }
  // The append ring's file: mapped writes are in the page cache at once, as on the real disk.
  result<std::unique_ptr<io::mapped_file>> map_shared(const std::string& path,
                                                      uint64_t size) override {
    return _base.map_shared(path, size);
  }

 private:
  io::filesystem& _base;
};

// Drops `log` as a crashed process would. Its destructor still runs close(), so every write,
// sync and truncate fails meanwhile and the files stay exactly as the crash left them (leaking
// the object instead would hold its files open and trip the leak checker). Leaves no fault
// armed and the path filter empty.
void abandon(std::unique_ptr<partition_log>& log, io::fault_injecting_filesystem& fs) {
  fs.set_path_filter("");
  fs.fail_writes_after(0, EIO);
  fs.fail_syncs(EIO, -1);
  fs.fail_truncates(EIO);
  log.reset();
  fs.clear_faults();
}

// One seed's run: the log under test, the model, and the operations that drive both.
// Single-threaded apart from the flusher (see ack_tracker).
class model_run {
 public:
  model_run(uint64_t seed, bool faults, std::string dir)
      : _seed(seed), _rng(seed), _faults(faults), _dir(std::move(dir) + "/t-0") {}

  void run(int64_t ops);

 private:
  using op_fn = void (model_run::*)();
  struct op_choice {
    int weight;
    op_fn fn;
  };

  // --- Randomness. Own arithmetic on the raw generator, so a seed replays the same on
  // every standard library.
  int64_t uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(_rng() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool one_in(int64_t n) { return uniform(1, n) == 1; }
  size_t value_size();
  std::string random_bytes(size_t n);
  int64_t next_timestamp();
  produced produce(bool allow_compressed);
  byte_buffer stored_form(const produced& p, offset base, int64_t now) const;
  offset pick_read_offset();
  uint64_t pick_max_bytes();
  int64_t pick_timestamp();

  // --- Operations.
  void step(int64_t i);
  void op_append();
  void op_append_invalid();
  void op_read();
  void op_timestamp();
  void op_roll();
  void op_retention();
  void op_delete_records();
  void op_flush();
  void op_reopen();
  void op_crash() { crash_and_reopen(false); }
  void op_power_loss() { crash_and_reopen(true); }
  void op_verify() { verify_all(); }
  void op_release_idle_ring();
  void op_arm_write_fault();
  void op_arm_unundoable_write_fault();
  void op_arm_sync_fault();
  void op_clear_faults();

  // --- Helpers.
  void choose_config();
  void open_log(log_recovery_report& report);
  void crash_and_reopen(bool power_loss);
  void clear_faults();
  bool fault_armed() const { return _write_err != 0 || _sync_err != 0; }
  bool is_injected(const error& e) const;
  void track_failure(const std::string& op);
  void expect_log_failed(const error& e, const std::string& op);
  std::optional<bool> says_on_disk(offset end);
  void probe_durable(offset end);
  void await_acks();
  void register_ack(offset end);
  offset check_read(offset from, uint64_t max_bytes);
  void check_timestamp(int64_t t);
  listing list_files();
  void check_segments();
  void check_unchanged(uint64_t size_before, size_t segments_before, const std::string& op);
  void verify_all();
  void note(std::string what);
  std::string history() const;

  const uint64_t _seed;
  std::mt19937_64 _rng;
  const bool _faults;
  const std::string _dir;
  io::posix_filesystem _posix;
  unsynced_filesystem _unsynced{_posix};
  io::fault_injecting_filesystem _fs{_unsynced};
  flusher _flusher;  // outlives the log
  log_config _config;
  std::unique_ptr<partition_log> _log;
  log_model _model;
  int64_t _clock = 1'700'000'000'000;
  // Idempotent producer ids are handed out once each: a producer the log has never seen may
  // start at any sequence, so the header fields vary without the sequence rules (tested on
  // their own in producer_state_test) refusing batches the model expects to be stored.
  int64_t _next_producer_id = 0;
  // Everything below was reported on disk (flush, when_durable): it must survive power loss.
  offset _durable;
  bool _failed = false;     // the log reported failure()
  bool _torn_tail = false;  // a torn write could not be undone; the next recovery cuts it
  int _write_err = 0;       // armed faults (0: none); "armed" means "may still fire"
  int _sync_err = 0;
  bool _truncate_fault = false;
  std::shared_ptr<ack_tracker> _acks = std::make_shared<ack_tracker>();
  std::deque<std::string> _history;
  int64_t _op = 0;
};

// --- Generation ------------------------------------------------------------------------------

size_t model_run::value_size() {
  // Mostly small values, so that a 2-16 KiB segment holds several batches; sometimes empty,
  // sometimes a few KiB.
  int64_t r = uniform(0, 99);
  if (r < 10) return 0;
  if (r < 70) return static_cast<size_t>(uniform(1, 64));
  if (r < 95) return static_cast<size_t>(uniform(65, 512));
  return static_cast<size_t>(uniform(513, 4096));
}

std::string model_run::random_bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = _rng();
    for (size_t j = i; j < n && j < i + 8; ++j, r >>= 8) s[j] = static_cast<char>(r & 0xff);
  }
  return s;
}

int64_t model_run::next_timestamp() {
  // Mostly increasing; sometimes a record from the past (a slow producer), which is what
  // makes timestamp lookups and time retention interesting.
  if (one_in(12)) return _clock - uniform(1, 20'000);
  _clock += uniform(0, 40);
  return _clock;
}

produced model_run::produce(bool allow_compressed) {
  test::batch_builder b;
  produced p;
  int n = static_cast<int>(uniform(1, 20));
  for (int i = 0; i < n; ++i) {
    test::test_record r;
    if (!one_in(8)) r.key = "k" + std::to_string(uniform(0, 999));
    if (!one_in(16)) r.value = random_bytes(value_size());
    if (one_in(6)) {
      for (int64_t h = uniform(1, 3); h > 0; --h) {
        std::optional<std::string> hv;
        if (!one_in(4)) hv = random_bytes(static_cast<size_t>(uniform(0, 16)));
        r.headers.emplace_back("h" + std::to_string(h), std::move(hv));
      }
    }
    r.timestamp = next_timestamp();
    p.timestamps.push_back(r.timestamp);
    b.add(std::move(r));
  }
  if (allow_compressed && one_in(8)) {
    b.codec(static_cast<int>(uniform(1, 4)));
    p.compressed = true;
  }
  if (one_in(4)) {
    b.producer(_next_producer_id++, static_cast<int16_t>(uniform(0, 5)),
               static_cast<int32_t>(uniform(0, 1 << 20)));
  }
  p.bytes = b.build();
  // What a producer puts in the fields the log overwrites (neither is under the CRC).
  store_be<int64_t>(p.bytes.data() + bl::base_offset, uniform(0, 1 << 20));
  store_be<int32_t>(p.bytes.data() + bl::partition_leader_epoch,
                    static_cast<int32_t>(uniform(0, 100)));
  return p;
}

// The bytes the log must store for `p` at `base`, derived here independently of the
// functions the log uses.
byte_buffer model_run::stored_form(const produced& p, offset base, int64_t now) const {
  byte_buffer b = p.bytes;
  if (_config.message_timestamp_type == timestamp_type::log_append_time) {
    uint16_t attrs = load_be<uint16_t>(b.data() + bl::attributes);
    store_be<uint16_t>(b.data() + bl::attributes, attrs | batch_attributes::timestamp_log_append);
    store_be<int64_t>(b.data() + bl::max_timestamp, now);
    test::reseal(b);
  }
  store_be<int64_t>(b.data() + bl::base_offset, base.value);
  store_be<int32_t>(b.data() + bl::partition_leader_epoch, 0);
  return b;
}

offset model_run::pick_read_offset() {
  offset start = _model.log_start;
  offset end = _model.log_end;
  switch (uniform(0, 9)) {
    case 0:
      if (start.value > 0) return start - uniform(1, std::min<int64_t>(start.value, 50));
      return end + 1;
    case 1:
      return end;
    case 2:
      return end + uniform(1, 100);
    case 3:
      return start;
    default:
      if (start == end) return end;
      return start + uniform(0, end - start - 1);
  }
}

uint64_t model_run::pick_max_bytes() {
  switch (uniform(0, 5)) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return static_cast<uint64_t>(uniform(1, 4096));
    case 3:
      return static_cast<uint64_t>(uniform(1, 4 * static_cast<int64_t>(_config.segment_bytes)));
    case 4:
      return static_cast<uint64_t>(uniform(1, 256 * 1024));
    default:
      return 1ull << 30;
  }
}

int64_t model_run::pick_timestamp() {
  // Mostly a stored record's timestamp or a neighbour of it: exact hits and near misses.
  if (!_model.batches.empty() && !one_in(5)) {
    const auto& b = _model.batches[static_cast<size_t>(
        uniform(0, static_cast<int64_t>(_model.batches.size()) - 1))];
    int64_t ts = b.record_timestamps.empty()
                     ? b.max_timestamp
                     : b.record_timestamps[static_cast<size_t>(
                           uniform(0, static_cast<int64_t>(b.record_timestamps.size()) - 1))];
    return ts + uniform(-1, 1);
  }
  return _clock + uniform(-60'000, 1'000);
}

// --- The run ---------------------------------------------------------------------------------

void model_run::note(std::string what) {
  _history.push_back("op " + std::to_string(_op) + ": " + std::move(what));
  if (_history.size() > 30) _history.pop_front();
}

std::string model_run::history() const {
  std::string out;
  for (const auto& h : _history) out += "  " + h + "\n";
  return out;
}

void model_run::choose_config() {
  _config = log_config{};
  _config.segment_bytes = static_cast<uint64_t>(uniform(2048, 16384));
  _config.index_interval_bytes = static_cast<uint32_t>(uniform(32, 1024));
  _config.max_batch_bytes = static_cast<uint64_t>(uniform(16384, 65536));
  _config.retention_bytes = -1;
  _config.retention_ms = -1;
  _config.flush_interval_ms = uniform(1, 20);
  // Write-behind in steps of a few batches (interval policy only), or off.
  _config.write_behind_bytes = one_in(2) ? static_cast<uint64_t>(uniform(512, 8192)) : 0;
  // Sometimes segments also roll by age (batch timestamps advance about 20 ms a record).
  if (one_in(3)) _config.segment_ms = uniform(200, 20'000);
  // By seed rather than at random, so that a default run covers every policy and both
  // timestamp types.
  if (_faults) {
    _config.flush = flush_policy::os;
  } else {
    flush_policy policies[] = {flush_policy::always, flush_policy::interval, flush_policy::os};
    _config.flush = policies[_seed % 3];
  }
  _config.message_timestamp_type =
      _seed % 4 == 3 ? timestamp_type::log_append_time : timestamp_type::create_time;
  // On a healthy disk, half the seeds of each policy put appends through the append ring
  // (ignored under `always`) once a few KiB are in, so that reads, rolls, syncs, reopens and
  // crashes meet data still in the ring; the rest write directly. Not with faults: a failed
  // write of the ring fails the log after its appends were answered, which this model does
  // not follow (append_ring_test covers those failures and their recovery).
  _config.append_ring_bytes = 0;
  if (!_faults && (_seed / 3) % 2 == 0) {
    _config.append_ring_bytes = append_ring::min_capacity;
    _config.append_ring_after_bytes = static_cast<uint64_t>(uniform(1, 16384));
  }
  note(std::string("config: segment_bytes ") + std::to_string(_config.segment_bytes) +
       ", index_interval_bytes " + std::to_string(_config.index_interval_bytes) +
       ", max_batch_bytes " + std::to_string(_config.max_batch_bytes) + ", segment_ms " +
       std::to_string(_config.segment_ms) + ", flush " + to_string(_config.flush) +
       ", write_behind_bytes " + std::to_string(_config.write_behind_bytes) +
       ", append_ring_bytes " + std::to_string(_config.append_ring_bytes) + " after " +
       std::to_string(_config.append_ring_after_bytes) +
       (_config.message_timestamp_type == timestamp_type::log_append_time ? ", LogAppendTime"
                                                                          : ", CreateTime"));
}

void model_run::open_log(log_recovery_report& report) {
  auto log = partition_log::open(_fs, _dir, _config, _flusher, &report);
  ASSERT_TRUE(log) << "open: " << log.error().message();
  _log = std::move(*log);
  _acks = std::make_shared<ack_tracker>();
  _failed = false;
  _torn_tail = false;
}

void model_run::run(int64_t ops) {
  _fs.set_path_filter(".log");  // faults hit segment files only
  _fs.allow_mapping(true);      // for the append ring
  choose_config();
  log_recovery_report report;
  open_log(report);
  if (!_log) return;
  for (_op = 0; _op < ops; ++_op) {
    step(_op);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "last operations:\n" << history();
      return;
    }
  }
  // The end: everything written must still be there after a clean close and reopen.
  clear_faults();
  op_reopen();
  if (::testing::Test::HasFailure()) ADD_FAILURE() << "last operations:\n" << history();
}

void model_run::step(int64_t i) {
  SCOPED_TRACE(::testing::Message() << "op " << i);
  bool f = _faults;
  // A failed log takes only reads until reopened; reopen it soon.
  int recover = _failed ? 12 : 0;
  const op_choice ops[] = {
      {40, &model_run::op_append},
      {6, &model_run::op_append_invalid},
      {18, &model_run::op_read},
      {10, &model_run::op_timestamp},
      {3, &model_run::op_roll},
      {4, &model_run::op_retention},
      {4, &model_run::op_delete_records},
      {3, &model_run::op_flush},
      {2 + recover, &model_run::op_reopen},
      {2 + recover, &model_run::op_crash},
      {2, &model_run::op_verify},
      {2, &model_run::op_release_idle_ring},
      {f ? 3 : 0, &model_run::op_arm_write_fault},
      {f ? 1 : 0, &model_run::op_arm_unundoable_write_fault},
      {f ? 2 : 0, &model_run::op_arm_sync_fault},
      {f ? 4 : 0, &model_run::op_clear_faults},
      {f ? 3 + recover : 0, &model_run::op_power_loss},
  };
  int total = 0;
  for (const auto& o : ops) total += o.weight;
  int64_t pick = uniform(0, total - 1);
  for (const auto& o : ops) {
    if (pick < o.weight) {
      (this->*o.fn)();
      break;
    }
    pick -= o.weight;
  }
  if (::testing::Test::HasFailure() || !_log) return;
  track_failure("this operation");
  // With the os policy the log answers durability questions at once: ask after every step
  // what it claims is on disk, and hold it to that at the next power loss.
  if (_config.flush == flush_policy::os) probe_durable(_model.log_end);
}

// --- Faults ----------------------------------------------------------------------------------

void model_run::clear_faults() {
  _fs.clear_faults();
  _write_err = 0;
  _sync_err = 0;
  _truncate_fault = false;
}

void model_run::op_arm_write_fault() {
  _write_err = one_in(2) ? ENOSPC : EIO;
  int64_t budget = uniform(0, 8000);
  note("arm write fault: segment writes fail with errno " + std::to_string(_write_err) + " after " +
       std::to_string(budget) + " more bytes");
  _fs.fail_writes_after(static_cast<uint64_t>(budget), _write_err);
}

void model_run::op_arm_unundoable_write_fault() {
  op_arm_write_fault();
  note("arm truncate fault: a torn write cannot be undone");
  _fs.fail_truncates(EIO);
  _truncate_fault = true;
}

void model_run::op_arm_sync_fault() {
  _sync_err = EIO;
  int count = static_cast<int>(uniform(1, 2));
  note("arm sync fault: the next " + std::to_string(count) + " segment fdatasync calls fail");
  _fs.fail_syncs(EIO, count);
}

void model_run::op_clear_faults() {
  note("clear faults");
  clear_faults();
}

bool model_run::is_injected(const error& e) const {
  return e.code.category() == std::generic_category() &&
         ((_write_err != 0 && e.code.value() == _write_err) ||
          (_sync_err != 0 && e.code.value() == _sync_err));
}

// The log may become failed only through a fault that the disk cannot take back (an fsync
// that failed, a torn write that could not be cut), and stays failed until reopened.
void model_run::track_failure(const std::string& op) {
  bool now_failed = _log->failure().has_value();
  if (now_failed && !_failed) {
    EXPECT_TRUE(_sync_err != 0 || _truncate_fault)
        << op
        << " failed the log with no sync or truncate fault armed: " << _log->failure()->message();
  }
  EXPECT_FALSE(_failed && !now_failed) << op << " cleared the log's failure without a reopen";
  _failed = now_failed;
}

void model_run::expect_log_failed(const error& e, const std::string& op) {
  EXPECT_EQ(e.code, make_error_code(errc::log_failed)) << op << " on a failed log: " << e.message();
}

// --- Durability ------------------------------------------------------------------------------

// Whether the log says everything below `end` is on disk; nullopt if it will say later (only
// the os policy answers at once).
std::optional<bool> model_run::says_on_disk(offset end) {
  auto answer = std::make_shared<std::optional<bool>>();
  _log->when_durable(
      end, [answer](status s, durability d) { *answer = bool(s) && d == durability::disk; });
  return *answer;
}

void model_run::probe_durable(offset end) {
  auto disk = says_on_disk(end);
  ASSERT_TRUE(disk.has_value()) << "the os policy must answer when_durable at once";
  if (*disk) _durable = std::max(_durable, end);
}

void model_run::register_ack(offset end) {
  auto t = _acks;
  {
    std::lock_guard lock(t->mu);
    ++t->registered;
  }
  flush_policy policy = _config.flush;
  _log->when_durable(end, [t, end, policy](status s, durability d) {
    std::lock_guard lock(t->mu);
    ++t->completed;
    if (!s) {
      t->problems.push_back("durability of " + std::to_string(end.value) +
                            " failed: " + s.error().message());
    } else if (policy != flush_policy::os && d != durability::disk) {
      t->problems.push_back("durability of " + std::to_string(end.value) +
                            " reported page cache under a syncing policy");
    }
    t->cv.notify_all();
  });
}

// After a flush or close every durability callback has fired, once, with success.
void model_run::await_acks() {
  std::unique_lock lock(_acks->mu);
  bool done = _acks->cv.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return _acks->completed >= _acks->registered; });
  if (!done) {
    ADD_FAILURE() << _acks->completed << " of " << _acks->registered
                  << " durability callbacks fired within 10 s of a flush";
  } else {
    EXPECT_EQ(_acks->completed, _acks->registered) << "a durability callback fired twice";
  }
  for (const auto& p : _acks->problems) ADD_FAILURE() << p;
  _acks->problems.clear();
}

// --- Checks ----------------------------------------------------------------------------------

// Reads from `from` and checks the answer against the model; returns where the following read
// would start.
offset model_run::check_read(offset from, uint64_t max_bytes) {
  auto r = _log->read(from, max_bytes);
  std::string what = "read(" + std::to_string(from.value) + ", " + std::to_string(max_bytes) +
                     ") with log [" + std::to_string(_model.log_start.value) + ", " +
                     std::to_string(_model.log_end.value) + ")";
  if (from < _model.log_start || from > _model.log_end) {
    EXPECT_FALSE(r) << what << " must be out of range";
    if (!r) {
      EXPECT_EQ(r.error().code, make_error_code(errc::offset_out_of_range))
          << what << ": " << r.error().message();
    }
    return from;
  }
  if (!r) {
    ADD_FAILURE() << what << ": " << r.error().message();
    return from;
  }
  EXPECT_EQ(r->log_start.value, _model.log_start.value) << what;
  EXPECT_EQ(r->log_end.value, _model.log_end.value) << what;
  if (from == _model.log_end) {
    EXPECT_EQ(r->slice.size, 0u) << what << " at the end must be empty";
    return from;
  }
  if (r->slice.size == 0 || !r->slice.file) {
    ADD_FAILURE() << what << " returned no batch";
    return from;
  }
  byte_buffer got(r->slice.size);
  auto n = r->slice.file->read_at(r->slice.position, got);
  if (!n || *n != got.size()) {
    ADD_FAILURE() << what << ": the slice could not be read back";
    return from;
  }
  size_t first = _model.find(from);
  if (first == _model.batches.size()) {
    ADD_FAILURE() << what << ": the model holds no batch at " << from.value;
    return from;
  }
  size_t i = first;
  uint64_t pos = 0;
  while (pos < got.size()) {
    if (i == _model.batches.size()) {
      ADD_FAILURE() << what << " returned " << got.size() - pos << " bytes past the log end";
      return from;
    }
    const auto& b = _model.batches[i];
    bytes_view part =
        bytes_view(got).subspan(pos, std::min<size_t>(b.bytes.size(), got.size() - pos));
    if (part.size() != b.bytes.size() ||
        !std::equal(b.bytes.begin(), b.bytes.end(), part.begin())) {
      ADD_FAILURE() << what << ": batch " << i - first << " of the answer should be the one at "
                    << b.base.value << " (" << b.count << " records); "
                    << describe_difference(b.bytes, part);
      return from;
    }
    pos += b.bytes.size();
    ++i;
  }
  if (i - first > 1) {
    EXPECT_LE(got.size(), max_bytes) << what << ": more than one batch beyond max_bytes";
  }
  if (i < _model.batches.size() && got.size() + _model.batches[i].bytes.size() <= max_bytes) {
    // It stopped although the next batch would fit: only the end of a segment may stop it.
    auto files = list_files();
    EXPECT_TRUE(std::binary_search(files.logs.begin(), files.logs.end(), _model.batches[i].base))
        << what << " stopped before batch " << _model.batches[i].base.value
        << ", which fits and is not the start of a segment";
  }
  return _model.batches[i - 1].next();
}

void model_run::check_timestamp(int64_t t) {
  auto r = _log->offset_for_timestamp(timestamp_ms(t));
  ASSERT_TRUE(r) << "offset_for_timestamp(" << t << "): " << r.error().message();
  auto want = _model.first_at_or_after(t);
  EXPECT_EQ(show(*r), show(want)) << "offset_for_timestamp(" << t << ") with log ["
                                  << _model.log_start.value << ", " << _model.log_end.value << ")";
}

listing model_run::list_files() {
  listing out;
  auto names = _fs.list_dir(_dir);
  EXPECT_TRUE(names) << names.error().message();
  if (!names) return out;
  for (const auto& name : *names) {
    if (auto b = parse_segment_name(name, ".log")) {
      out.logs.push_back(*b);
    } else if (auto i = parse_segment_name(name, ".index")) {
      out.indexes.push_back(*i);
    } else if (auto sn = parse_segment_name(name, ".snapshot")) {
      out.snapshots.push_back(*sn);
    } else if (name == append_ring::file_name && _config.append_ring_bytes != 0 &&
               _config.flush != flush_policy::always) {
      continue;  // the append ring, while the log is open (its data is checked through reads)
    } else if (name != "partition.meta") {
      out.others.push_back(name);
    }
  }
  std::sort(out.logs.begin(), out.logs.end());
  std::sort(out.indexes.begin(), out.indexes.end());
  return out;
}

// The segment files agree with the log and the model: one per segment, the first at or below
// the log start, each starting at a batch boundary, every closed one indexed, no stray files,
// and together exactly the bytes of the batches from the first segment on.
void model_run::check_segments() {
  // A roll writes the closed segment's index on the flusher, after syncing the segment.
  _log->wait_for_rolls();
  auto files = list_files();
  EXPECT_TRUE(files.others.empty()) << "unexpected file " << files.others.front();
  ASSERT_FALSE(files.logs.empty()) << "no segment files";
  // Producer snapshots: at most two, at batch boundaries inside the log's segments.
  EXPECT_LE(files.snapshots.size(), 2u);
  for (offset sn : files.snapshots) {
    EXPECT_TRUE(_model.is_boundary(sn) || sn == _model.log_end)
        << "snapshot " << sn.value << " is not at a batch boundary";
    EXPECT_GE(sn, files.logs.front()) << "snapshot " << sn.value << " below the first segment";
    EXPECT_LE(sn, _model.log_end) << "snapshot " << sn.value << " past the log end";
  }
  EXPECT_EQ(files.logs.size(), _log->segment_count());
  EXPECT_LE(files.logs.front().value, _model.log_start.value)
      << "the first segment starts after the log start";
  for (size_t i = 0; i < files.logs.size(); ++i) {
    EXPECT_TRUE(_model.is_boundary(files.logs[i]))
        << "segment " << files.logs[i].value << " does not start at a batch";
    // A roll whose sync failed never writes the index; the next open scans that segment.
    if (i + 1 < files.logs.size() && !_log->failure()) {
      EXPECT_TRUE(std::binary_search(files.indexes.begin(), files.indexes.end(), files.logs[i]))
          << "closed segment " << files.logs[i].value << " has no index file";
    }
  }
  for (offset ix : files.indexes) {
    EXPECT_TRUE(std::binary_search(files.logs.begin(), files.logs.end(), ix))
        << "index " << ix.value << " has no segment";
  }
  _model.forget_below(files.logs.front());
  EXPECT_EQ(_log->size_bytes(), _model.size_bytes());
}

void model_run::check_unchanged(uint64_t size_before, size_t segments_before,
                                const std::string& op) {
  EXPECT_EQ(_log->log_start().value, _model.log_start.value) << op;
  EXPECT_EQ(_log->log_end().value, _model.log_end.value) << op;
  EXPECT_EQ(_log->size_bytes(), size_before) << op;
  EXPECT_GE(_log->segment_count(), segments_before) << op;
  // The last batch still reads back as it was.
  if (!_model.batches.empty() && _model.batches.back().next() > _model.log_start) {
    check_read(std::max(_model.batches.back().base, _model.log_start), 1);
  }
}

void model_run::verify_all() {
  note("verify everything");
  ASSERT_EQ(_log->log_start().value, _model.log_start.value);
  ASSERT_EQ(_log->log_end().value, _model.log_end.value);
  check_segments();
  offset at = _model.log_start;
  while (at < _model.log_end) {
    offset next = check_read(at, pick_max_bytes());
    if (::testing::Test::HasFailure()) return;
    ASSERT_GT(next.value, at.value);
    at = next;
  }
  check_read(_model.log_end, 1);
  check_read(_model.log_end + 1, 1);
  if (_model.log_start.value > 0) check_read(_model.log_start - 1, 1);
  for (int i = 0; i < 3; ++i) check_timestamp(pick_timestamp());
}

// --- Operations ------------------------------------------------------------------------------

void model_run::op_append() {
  produced p = produce(true);
  int64_t now = _clock;
  offset base = _model.log_end;
  byte_buffer expected = stored_form(p, base, now);
  int32_t count = static_cast<int32_t>(p.timestamps.size());
  note("append " + std::to_string(count) + " records, " + std::to_string(p.bytes.size()) +
       " bytes" + (p.compressed ? " (compressed)" : "") + " at " + std::to_string(base.value));
  uint64_t size_before = _log->size_bytes();
  size_t segments_before = _log->segment_count();
  auto r = _log->append(p.bytes, timestamp_ms(now));
  if (_failed) {
    ASSERT_FALSE(r) << "append on a failed log";
    expect_log_failed(r.error(), "append");
    check_unchanged(size_before, segments_before, "append on a failed log");
    return;
  }
  if (p.bytes.size() > _config.max_batch_bytes) {
    ASSERT_FALSE(r) << "a " << p.bytes.size() << "-byte batch over max_batch_bytes was accepted";
    EXPECT_EQ(r.error().code, make_error_code(errc::batch_too_large)) << r.error().message();
    check_unchanged(size_before, segments_before, "append of a batch too large");
    return;
  }
  if (!r) {
    // A roll may have happened before the write failed; its work is the flusher's.
    if (_log->segment_count() > segments_before) _log->wait_for_rolls();
    ASSERT_TRUE(fault_armed()) << "append failed: " << r.error().message();
    track_failure("a failed append");
    // An armed sync fault may fail the log in the background (a flusher worker's sync of
    // earlier appends) just before this append, which then finds the log failed.
    bool failed_before = _failed && r.error().code == make_error_code(errc::log_failed);
    EXPECT_TRUE(is_injected(r.error()) || failed_before)
        << "append failed with " << r.error().message();
    if (_failed && _truncate_fault) _torn_tail = true;
    note(std::string("  -> failed: ") + r.error().message() + (_failed ? " (log failed)" : ""));
    check_unchanged(size_before, segments_before, "a failed append");
    return;
  }
  EXPECT_EQ(r->base_offset.value, base.value);
  EXPECT_EQ(r->last_offset.value, base.value + count - 1);
  EXPECT_EQ(r->next_offset.value, base.value + count);
  EXPECT_EQ(r->size, p.bytes.size());
  bool log_append_time = _config.message_timestamp_type == timestamp_type::log_append_time;
  EXPECT_EQ(r->log_append_time.value, log_append_time ? now : -1);
  // The batch was rewritten in place into the form the log stores.
  EXPECT_TRUE(p.bytes == expected) << "the appended batch was not rewritten as stored: "
                                   << describe_difference(expected, p.bytes);
  model_batch m;
  m.base = base;
  m.count = count;
  m.max_timestamp = load_be<int64_t>(expected.data() + bl::max_timestamp);
  if (!log_append_time) m.record_timestamps = p.timestamps;
  m.bytes = std::move(expected);
  _model.batches.push_back(std::move(m));
  _model.log_end = base + count;
  EXPECT_EQ(_log->log_end().value, _model.log_end.value);
  EXPECT_EQ(_log->size_bytes(), size_before + p.bytes.size());
  if (_log->segment_count() > segments_before) {
    // The roll left its sync of the closed segment to the flusher; wait for it, so that a
    // failure it meets is charged to the fault armed now.
    _log->wait_for_rolls();
    track_failure("a roll's sync");
    // A roll made the previous segment durable, up to this batch.
    if (_config.flush == flush_policy::os) probe_durable(base);
  }
  if (!_faults && one_in(3)) register_ack(_model.log_end);
}

void model_run::op_append_invalid() {
  produced p = produce(false);
  byte_buffer& b = p.bytes;
  errc want = errc::corrupt_batch;
  std::string what;
  switch (uniform(0, 9)) {
    case 0: {
      size_t at = static_cast<size_t>(uniform(bl::attributes, static_cast<int64_t>(b.size()) - 1));
      b[at] ^= static_cast<uint8_t>(uniform(1, 255));
      what = "a byte under the CRC changed at " + std::to_string(at);
      want = errc::corrupt_batch;
      break;
    }
    case 1: {
      int32_t len = load_be<int32_t>(b.data() + bl::batch_length);
      int32_t delta = static_cast<int32_t>(one_in(2) ? uniform(1, 100) : -uniform(1, 100));
      store_be<int32_t>(b.data() + bl::batch_length, len + delta);
      what = "batchLength off by " + std::to_string(delta);
      want = errc::batch_length_mismatch;
      break;
    }
    case 2:
      b.resize(static_cast<size_t>(uniform(bl::header_size, static_cast<int64_t>(b.size()) - 1)));
      what = "cut to " + std::to_string(b.size()) + " bytes";
      want = errc::batch_length_mismatch;
      break;
    case 3:
      b.resize(static_cast<size_t>(uniform(0, bl::header_size - 1)));
      what = "only " + std::to_string(b.size()) + " bytes";
      want = errc::batch_too_small;
      break;
    case 4:
      b[bl::magic] = static_cast<uint8_t>(uniform(0, 1));
      what = "magic " + std::to_string(b[bl::magic]);
      want = errc::unsupported_magic;
      break;
    case 5: {
      int32_t n = load_be<int32_t>(b.data() + bl::records_count);
      int32_t bad = one_in(3) ? 0 : n + static_cast<int32_t>(uniform(1, 3));
      store_be<int32_t>(b.data() + bl::records_count, bad);
      test::reseal(b);
      what = "recordsCount " + std::to_string(bad) + " for " + std::to_string(n) + " records";
      want = errc::invalid_record_count;
      break;
    }
    case 6: {
      // The first record's length claims far more bytes than the batch holds.
      byte_buffer huge;
      varint::append_signed(huge, 1 << 30);
      std::copy(huge.begin(), huge.end(), b.begin() + bl::header_size);
      test::reseal(b);
      what = "first record length 2^30";
      want = errc::invalid_records;
      break;
    }
    case 7: {
      int64_t base_ts = load_be<int64_t>(b.data() + bl::base_timestamp);
      store_be<int64_t>(b.data() + bl::max_timestamp, base_ts - uniform(1, 1000));
      test::reseal(b);
      what = "maxTimestamp before baseTimestamp";
      want = errc::invalid_timestamp;
      break;
    }
    case 8: {
      uint16_t attrs = load_be<uint16_t>(b.data() + bl::attributes);
      store_be<uint16_t>(b.data() + bl::attributes, attrs | batch_attributes::control);
      test::reseal(b);
      what = "a control batch from a client";
      want = errc::control_batch_not_allowed;
      break;
    }
    default: {
      uint16_t attrs = load_be<uint16_t>(b.data() + bl::attributes);
      uint16_t codec = static_cast<uint16_t>(uniform(5, 7));
      store_be<uint16_t>(b.data() + bl::attributes,
                         static_cast<uint16_t>((attrs & ~batch_attributes::codec_mask) | codec));
      test::reseal(b);
      what = "codec " + std::to_string(codec);
      want = errc::unsupported_compression;
      break;
    }
  }
  // Validation checks the size before anything else, and a failed log refuses before that.
  if (b.size() < bl::header_size) {
    want = errc::batch_too_small;
  } else if (b.size() > _config.max_batch_bytes) {
    want = errc::batch_too_large;
  }
  if (_failed) want = errc::log_failed;
  note("append an invalid batch: " + what);
  uint64_t size_before = _log->size_bytes();
  size_t segments_before = _log->segment_count();
  auto r = _log->append(b, timestamp_ms(_clock));
  ASSERT_FALSE(r) << "invalid batch accepted: " << what;
  // As for valid appends: an armed sync fault may fail the log in the background (a flusher
  // worker's sync of earlier appends) just before this append, which then finds it failed.
  if (!_failed && _sync_err != 0 && r.error().code == make_error_code(errc::log_failed)) {
    track_failure("an invalid append");
    if (_failed) want = errc::log_failed;
  }
  EXPECT_EQ(r.error().code, make_error_code(want))
      << what << ": expected " << make_error_code(want).message() << ", got "
      << r.error().message();
  check_unchanged(size_before, segments_before, "a rejected batch");
  EXPECT_EQ(_log->segment_count(), segments_before) << "a rejected batch rolled the segment";
}

void model_run::op_read() {
  offset from = pick_read_offset();
  uint64_t max_bytes = pick_max_bytes();
  note("read from " + std::to_string(from.value) + ", max_bytes " + std::to_string(max_bytes));
  check_read(from, max_bytes);
}

void model_run::op_timestamp() {
  int64_t t = pick_timestamp();
  note("offset_for_timestamp(" + std::to_string(t) + ")");
  check_timestamp(t);
}

void model_run::op_roll() {
  note("roll");
  auto st = _log->roll();
  if (_failed) {
    ASSERT_FALSE(st) << "roll on a failed log";
    expect_log_failed(st.error(), "roll");
    return;
  }
  if (!st) {
    ASSERT_TRUE(_sync_err != 0) << "roll: " << st.error().message();
    EXPECT_TRUE(is_injected(st.error())) << "roll: " << st.error().message();
    return;
  }
  // The flusher syncs the segment the roll closed; wait for it (see op_append).
  _log->wait_for_rolls();
  track_failure("a roll's sync");
  if (_failed) return;
  // Rolling syncs the segment it closes: everything written is on disk.
  if (_config.flush == flush_policy::os) {
    auto disk = says_on_disk(_model.log_end);
    EXPECT_TRUE(disk && *disk) << "after a roll, when_durable(log end) must report disk";
  }
  check_segments();
}

void model_run::op_retention() {
  log_config cfg = _config;
  int64_t size = static_cast<int64_t>(_log->size_bytes());
  cfg.retention_bytes = one_in(3) ? -1 : uniform(0, size + size / 2 + 1);
  cfg.retention_ms = one_in(3) ? -1 : uniform(0, 120'000);
  int64_t now = _clock + uniform(-30'000, 30'000);
  note("apply_retention at " + std::to_string(now) + " with retention.bytes " +
       std::to_string(cfg.retention_bytes) + ", retention.ms " + std::to_string(cfg.retention_ms));
  auto set = _log->set_config(cfg);
  ASSERT_TRUE(set) << set.error().message();
  _config = cfg;
  offset start_before = _model.log_start;
  uint64_t size_before = _log->size_bytes();
  auto rep = _log->apply_retention(timestamp_ms(now));
  ASSERT_TRUE(rep) << "apply_retention: " << rep.error().message();
  offset start = _log->log_start();
  EXPECT_EQ(rep->log_start.value, start.value);
  EXPECT_EQ(_log->log_end().value, _model.log_end.value) << "retention moved the log end";
  ASSERT_GE(start.value, start_before.value) << "retention moved the log start back";
  if (start != start_before) {
    EXPECT_TRUE(_model.is_boundary(start))
        << "retention moved the log start to " << start.value << ", inside a batch";
    EXPECT_GT(rep->segments_deleted, 0u);
  }
  if (cfg.retention_bytes < 0 && cfg.retention_ms < 0) {
    EXPECT_EQ(start.value, start_before.value) << "unlimited retention moved the log start";
  }
  EXPECT_EQ(size_before - _log->size_bytes(), rep->bytes_deleted);
  _model.log_start = start;
  check_segments();
  auto files = list_files();
  if (files.logs.size() > 1) {
    // Whatever the limits, a closed segment wholly below the log start is garbage.
    ASSERT_GT(files.logs[1].value, start.value)
        << "after retention, segment " << files.logs[0].value << " lies wholly below the log start";
    // Deletion stops at the first segment kept, and the active segment is always kept; so the
    // oldest remaining closed segment breaks neither limit.
    uint64_t seg_size = 0;
    int64_t seg_max = -1;
    for (const auto& b : _model.batches) {
      if (b.base >= files.logs[1]) break;
      seg_size += b.bytes.size();
      seg_max = std::max(seg_max, b.max_timestamp);
    }
    if (cfg.retention_bytes >= 0) {
      EXPECT_LT(_log->size_bytes() - seg_size, static_cast<uint64_t>(cfg.retention_bytes))
          << "the oldest segment breaks retention.bytes but was kept";
    }
    if (cfg.retention_ms >= 0) {
      EXPECT_GE(seg_max, now - cfg.retention_ms)
          << "the oldest segment breaks retention.ms but was kept";
    }
  }
  if (start != start_before) verify_all();
}

void model_run::op_delete_records() {
  offset start = _model.log_start;
  offset end = _model.log_end;
  offset target;
  switch (uniform(0, 9)) {
    case 0:
      target = end + uniform(1, 5);
      break;
    case 1:
      target = end;
      break;
    case 2:
      target = offset(start.value > 0 ? uniform(0, start.value) : 0);
      break;
    default:
      target = start + uniform(0, end - start);
      break;
  }
  note("delete_records(" + std::to_string(target.value) + ")");
  auto r = _log->delete_records(target);
  if (target > end) {
    ASSERT_FALSE(r) << "delete_records past the log end accepted";
    EXPECT_EQ(r.error().code, make_error_code(errc::offset_out_of_range)) << r.error().message();
    EXPECT_EQ(_log->log_start().value, start.value);
    return;
  }
  ASSERT_TRUE(r) << "delete_records: " << r.error().message();
  offset want = std::max(start, target);
  EXPECT_EQ(r->value, want.value);
  EXPECT_EQ(_log->log_start().value, want.value);
  EXPECT_EQ(_log->log_end().value, end.value);
  _model.log_start = want;
  check_segments();
  if (!::testing::Test::HasFailure()) {
    check_read(want, pick_max_bytes());
    if (want.value > 0) check_read(want - 1, 1);
  }
}

void model_run::op_flush() {
  note("flush");
  auto st = _log->flush();
  track_failure("flush");
  if (!st) {
    expect_log_failed(st.error(), "a failed flush");
    EXPECT_TRUE(_failed) << "flush failed but the log did not: " << st.error().message();
    return;
  }
  _durable = _model.log_end;
  if (_config.flush == flush_policy::os) {
    auto disk = says_on_disk(_model.log_end);
    EXPECT_TRUE(disk && *disk) << "after a flush, when_durable(log end) must report disk";
  } else {
    await_acks();
  }
}

void model_run::op_reopen() {
  bool was_failed = _failed;
  note(std::string("close and reopen") + (was_failed ? " (log failed)" : ""));
  auto st = _log->close();
  if (!_faults) {
    ASSERT_TRUE(st) << "close: " << st.error().message();
  }
  if (!st) {
    EXPECT_TRUE(is_injected(st.error())) << "close: " << st.error().message();
  }
  bool clean = st && !was_failed;
  {
    auto r = _log->read(_model.log_start, 1);
    ASSERT_FALSE(r) << "read after close";
    EXPECT_EQ(r.error().code, make_error_code(errc::log_closed));
    auto b = test::make_batch(1, 1);
    auto a = _log->append(b, timestamp_ms(_clock));
    ASSERT_FALSE(a) << "append after close";
    EXPECT_EQ(a.error().code, make_error_code(errc::log_closed));
    auto f = _log->flush();
    ASSERT_FALSE(f) << "flush after close";
    EXPECT_EQ(f.error().code, make_error_code(errc::log_closed));
  }
  if (!_faults && st) await_acks();
  _log.reset();
  clear_faults();
  if (clean) _durable = _model.log_end;
  // A clean close leaves nothing unsynced, so a power loss now changes nothing.
  if (_faults && clean && one_in(2)) {
    note("  power loss after the clean close");
    ASSERT_TRUE(_fs.simulate_power_loss(static_cast<uint64_t>(uniform(0, 300))));
  }
  // A new process may use other settings for the same files.
  if (one_in(3)) {
    _config.segment_bytes = static_cast<uint64_t>(uniform(2048, 16384));
    _config.index_interval_bytes = static_cast<uint32_t>(uniform(32, 1024));
    note("  reopen with segment_bytes " + std::to_string(_config.segment_bytes) +
         ", index_interval_bytes " + std::to_string(_config.index_interval_bytes));
  }
  bool torn = _torn_tail;
  log_recovery_report report;
  open_log(report);
  ASSERT_TRUE(_log);
  EXPECT_EQ(report.clean_shutdown, clean);
  if (clean) {
    EXPECT_EQ(report.bytes_scanned, 0u) << "a clean reopen scanned";
  }
  if (!torn) {
    EXPECT_EQ(report.truncated_bytes, 0u) << "recovery cut acknowledged data";
  }
  // A failed log's close leaves the work of its last roll undone: that index is rebuilt.
  if (!was_failed) {
    EXPECT_EQ(report.indexes_rebuilt, 0u) << "an index of a closed segment was stale";
  }
  EXPECT_EQ(report.log_start.value, _model.log_start.value);
  EXPECT_EQ(report.log_end.value, _model.log_end.value);
  verify_all();
}

// The broker's idle check, twice in a row: the second call finds nothing appended since the
// first and gives the ring back (writing it into the segment first). A failed log keeps it.
void model_run::op_release_idle_ring() {
  bool had = _log->has_ring();
  auto first = _log->release_idle_ring();
  auto second = _log->release_idle_ring();
  note(std::string("release idle ring") + (had ? "" : " (none held)") +
       ((first && *first) || (second && *second) ? ": released" : ""));
  if (_failed) return;
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_TRUE(second) << second.error().message();
  // The first look releases it if nothing was appended since the last one, else the second.
  EXPECT_EQ(*first || *second, had);
  EXPECT_FALSE(*first && *second);
  EXPECT_FALSE(_log->has_ring());
}

void model_run::crash_and_reopen(bool power_loss) {
  if (!_failed && one_in(2)) op_flush();
  if (::testing::Test::HasFailure()) return;
  offset end_before = _model.log_end;
  bool torn = _torn_tail;
  bool was_failed = _failed;
  note(power_loss ? "power loss" : "process crash");
  abandon(_log, _fs);
  clear_faults();
  _fs.set_path_filter(".log");
  if (power_loss) {
    uint64_t keep = one_in(3) ? static_cast<uint64_t>(uniform(1, 400)) : 0;
    note("  unsynced data dropped, " + std::to_string(keep) + " torn bytes kept");
    ASSERT_TRUE(_fs.simulate_power_loss(keep));
  }
  log_recovery_report report;
  open_log(report);
  ASSERT_TRUE(_log);
  offset end = _log->log_end();
  EXPECT_FALSE(report.clean_shutdown);
  for (const auto& n : report.notes) {
    if (n.find("from append.ring") != std::string::npos) {
      note("  " + n);
      ring_restores.fetch_add(1);
    }
  }
  // A roll whose sync failed (and so failed the log) never wrote the closed segment's index.
  if (!was_failed) {
    EXPECT_EQ(report.indexes_rebuilt, 0u) << "an index of a closed segment was stale";
  }
  if (power_loss) {
    note("  recovered [" + std::to_string(_log->log_start().value) + ", " +
         std::to_string(end.value) + "), durable was " + std::to_string(_durable.value));
    EXPECT_GE(end.value, _durable.value) << "power loss lost offsets [" << end.value << ", "
                                         << _durable.value << ") that the log had reported on disk";
    ASSERT_LE(end.value, end_before.value) << "recovery invented data";
    ASSERT_TRUE(_model.is_boundary(end)) << "recovered end " << end.value << " is inside a batch";
    _model.truncate(end);
    _durable = std::min(_durable, end);
  } else {
    EXPECT_EQ(end.value, end_before.value) << "a process crash lost written data";
    if (!torn) {
      EXPECT_EQ(report.truncated_bytes, 0u) << "recovery cut acknowledged data";
    }
    _model.truncate(std::min(end, end_before));
  }
  verify_all();
}

void run_seeds(bool faults) {
  int64_t ops = env_int("SPATE_MODEL_OPS", default_ops);
  std::vector<uint64_t> seeds;
  if (const char* one = std::getenv("SPATE_MODEL_SEED"); one != nullptr && *one != '\0') {
    seeds.push_back(std::strtoull(one, nullptr, 10));
  } else {
    int64_t n = env_int("SPATE_MODEL_SEEDS", default_seeds);
    for (int64_t i = 1; i <= n; ++i) seeds.push_back(static_cast<uint64_t>(i));
  }
  test::temp_dir dir;
  for (uint64_t seed : seeds) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " (replay: SPATE_MODEL_SEED=" << seed
                                      << " SPATE_MODEL_OPS=" << ops << ")");
    model_run run(seed, faults, dir / ("seed-" + std::to_string(seed)));
    run.run(ops);
    if (::testing::Test::HasFailure()) return;  // one failing seed is enough to read
  }
  if (!faults) {
    std::printf("%lld crash(es) restored data from the append ring\n",
                static_cast<long long>(ring_restores.exchange(0)));
  }
}

TEST(partition_log_model, agrees_with_the_model_on_a_healthy_disk) {
  run_seeds(false);
}

TEST(partition_log_model, agrees_with_the_model_under_injected_io_faults) {
  run_seeds(true);
}

// --- Regressions found by the model ----------------------------------------------------------

const timestamp_ms now(1'700'000'000'000);

// offset_for_timestamp took the segment's first match and clamped it to the log start. After
// delete_records that answered with a record older than the target, or with the log start
// when only deleted records were new enough, instead of searching on from the log start.
TEST(partition_log_model_regressions, offset_for_timestamp_searches_from_the_log_start) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  flusher fl;
  auto log = partition_log::open(fs, dir / "t-0", log_config{}, fl);
  ASSERT_TRUE(log) << log.error().message();
  // Offsets 0, 1, 2 at times 2000, 1000, 1500 (the producer's clock went back); then, in the
  // next segment, offset 3 at 1900.
  auto b1 =
      test::batch_builder().add("a", "0", 2000).add("b", "1", 1000).add("c", "2", 1500).build();
  ASSERT_TRUE((*log)->append(b1, now));
  ASSERT_TRUE((*log)->roll());
  auto b2 = test::batch_builder().add("d", "3", 1900).build();
  ASSERT_TRUE((*log)->append(b2, now));
  ASSERT_TRUE((*log)->delete_records(offset(1)));
  auto at = [&](int64_t t) {
    auto r = (*log)->offset_for_timestamp(timestamp_ms(t));
    EXPECT_TRUE(r) << r.error().message();
    return r && *r ? (*r)->off.value : -1;
  };
  EXPECT_EQ(at(900), 1);
  EXPECT_EQ(at(1200), 2);   // offset 1 is older than 1200
  EXPECT_EQ(at(1800), 3);   // in the next segment; only the deleted offset 0 is newer here
  EXPECT_EQ(at(1950), -1);  // only the deleted offset 0 is that new
}

// apply_retention deleted segments only when it moved the log start, so a segment left wholly
// below it (delete_records up to the log end, then a roll) stayed on disk and counted in the
// log's size whatever the retention settings, until the log start moved again.
TEST(partition_log_model_regressions, retention_deletes_segments_wholly_below_the_log_start) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  flusher fl;
  log_config cfg;
  cfg.retention_bytes = -1;
  cfg.retention_ms = -1;
  auto log = partition_log::open(fs, dir / "t-0", cfg, fl);
  ASSERT_TRUE(log) << log.error().message();
  for (int i = 0; i < 2; ++i) {
    auto b = test::make_batch(3, 100);
    ASSERT_TRUE((*log)->append(b, now));
  }
  ASSERT_TRUE((*log)->delete_records(offset(6)));
  ASSERT_TRUE((*log)->roll());  // offsets 0-5 now sit alone in a closed segment
  auto b = test::make_batch(1, 10);
  ASSERT_TRUE((*log)->append(b, now));
  auto r = (*log)->apply_retention(now);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->segments_deleted, 1u);
  EXPECT_EQ((*log)->segment_count(), 1u);
  EXPECT_EQ((*log)->size_bytes(), b.size());
}

// flusher::run pruned expired interval targets, then locked each remaining one without
// checking that it was still alive; a log destroyed by its owner in between (a partition
// closed, deleted or reopened) made the flusher thread dereference a null pointer. The model
// runs hit it under load; here the scan is held at that point by holding a target's mutex.
TEST(partition_log_model_regressions, flusher_survives_an_interval_target_dropped_mid_scan) {
  flusher fl;
  auto held = std::make_shared<sync_target>();
  auto dropped = std::make_shared<sync_target>();
  held->policy = flush_policy::interval;
  dropped->policy = flush_policy::interval;
  fl.watch_interval(held);
  fl.watch_interval(dropped);
  // Another thread holds `held`, so that no thread takes the flusher's lock while holding a
  // target's (the flusher takes them in that order).
  std::promise<void> locked;
  std::promise<void> release;
  std::thread holder([&] {
    std::lock_guard hold(held->mu);
    locked.set_value();
    release.get_future().wait();
  });
  locked.get_future().wait();
  // wake() takes the flusher's lock, which a scan already waiting for `held` keeps until the
  // holder lets go: so it runs on its own thread, or the test would deadlock against itself
  // whenever the flusher's first scan starts after the holder took `held`.
  std::thread waker([&] { fl.wake(); });  // the next scan prunes nothing, then waits for `held`
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  dropped.reset();
  release.set_value();
  holder.join();
  waker.join();
  // The scan goes on to `dropped`, expired meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// Recovery after an unclean shutdown set the durable end to the recovered end without syncing
// the active segment, so when_durable reported "disk" for data that was only in the page
// cache, and a power loss then took it.
TEST(partition_log_model_regressions, unclean_recovery_syncs_what_it_reports_durable) {
  test::temp_dir dir;
  io::posix_filesystem posix;
  io::fault_injecting_filesystem fs(posix);
  flusher fl;
  log_config cfg;
  cfg.flush = flush_policy::os;
  auto open = [&] {
    auto log = partition_log::open(fs, dir / "t-0", cfg, fl);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  };
  auto log = open();
  ASSERT_TRUE(log);
  auto b = test::make_batch(2, 100);
  ASSERT_TRUE(log->append(b, now));  // page cache only
  abandon(log, fs);                  // process crash
  log = open();
  ASSERT_TRUE(log);
  ASSERT_EQ(log->log_end(), offset(2));
  std::optional<durability> said;
  log->when_durable(offset(2), [&](status s, durability d) {
    EXPECT_TRUE(s);
    said = d;
  });
  ASSERT_TRUE(said.has_value());
  abandon(log, fs);
  ASSERT_TRUE(fs.simulate_power_loss());
  log = open();
  ASSERT_TRUE(log);
  if (*said == durability::disk) {
    EXPECT_EQ(log->log_end(), offset(2)) << "a batch reported on disk was lost";
  }
}

}  // namespace
}  // namespace spate::storage
