// Group commit with a pool of flusher workers, and rolls whose syncs the workers run: the
// order durability callbacks fire in, a roll under concurrent durable appends, where the
// syncs run, and a failing sync through the io seam.
#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "support/batch_builder.h"
#include "support/crash.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

const timestamp_ms now(1'700'000'000'000);

// Counts callbacks and lets the test thread wait for a number of them; callbacks run on the
// flusher's workers.
class completions {
 public:
  void add(int log, offset end, status s, durability d) {
    std::lock_guard lock(_mu);
    _seen[log].push_back(end);
    if (!s) _errors.push_back(s.error().message());
    if (s && d != durability::disk) ++_not_disk;
    ++_count;
    _cv.notify_all();
  }
  // Waits (bounded, generously: this is a test of behaviour, not of speed) for `n` callbacks.
  bool wait_for(size_t n) {
    std::unique_lock lock(_mu);
    return _cv.wait_for(lock, std::chrono::seconds(60), [&] { return _count >= n; });
  }
  std::map<int, std::vector<offset>> seen() {
    std::lock_guard lock(_mu);
    return _seen;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(_mu);
    return _errors;
  }
  size_t not_disk() {
    std::lock_guard lock(_mu);
    return _not_disk;
  }

 private:
  std::mutex _mu;
  std::condition_variable _cv;
  size_t _count = 0;
  size_t _not_disk = 0;
  std::map<int, std::vector<offset>> _seen;
  std::vector<std::string> _errors;
};

// The interval policy with its timer an hour away: nothing syncs the active segment during a
// test but flush(), a roll's work and close; with write-behind after every `write_behind` bytes.
log_config timer_never_fires(uint64_t write_behind = 0) {
  log_config cfg;
  cfg.flush = flush_policy::interval;
  cfg.flush_interval_ms = 3'600'000;
  cfg.write_behind_bytes = write_behind;
  return cfg;
}

// Appends `batches` batches of `records` records of `value_size` bytes, each with a durability
// callback counted by `done` under log 0, and waits for every callback.
void append_durably(partition_log& log, completions& done, int batches, int records,
                    size_t value_size) {
  for (int n = 0; n < batches; ++n) {
    auto b = test::make_batch(records, value_size);
    auto a = log.append(b, now);
    ASSERT_TRUE(a) << a.error().message();
    log.when_durable(a->next_offset, [&done, end = a->next_offset](status s, durability d) {
      done.add(0, end, std::move(s), d);
    });
  }
  ASSERT_TRUE(done.wait_for(static_cast<size_t>(batches)));
}

// The log's one durability waiter was told of a failure that mentions `why`; the log says it
// failed and refuses appends.
void expect_failed(partition_log& log, completions& done, const std::string& why) {
  ASSERT_TRUE(done.wait_for(1));
  auto errors = done.errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(why), std::string::npos) << errors[0];
  ASSERT_TRUE(log.failure());
  auto b = test::make_batch(1, 10);
  auto refused = log.append(b, now);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::log_failed));
}

// A filesystem that records on which threads files and directories were synced, so a test
// can check that a roll leaves its syncs to the flusher.
class sync_recording_filesystem final : public io::filesystem {
 public:
  explicit sync_recording_filesystem(io::filesystem& base) : _base(base) {}

  // Syncs made on `id` from now on are counted.
  void watch(std::thread::id id) {
    std::lock_guard lock(_mu);
    _watched = id;
    _syncs_on_watched = 0;
  }
  size_t syncs_on_watched() {
    std::lock_guard lock(_mu);
    return _syncs_on_watched;
  }
  void note_sync() {
    std::lock_guard lock(_mu);
    if (std::this_thread::get_id() == _watched) ++_syncs_on_watched;
  }

  result<io::file_ptr> open(const std::string& path, io::open_mode mode) override {
    auto f = _base.open(path, mode);
    if (!f) return f.error();
    return io::file_ptr(std::make_shared<recording_file>(*this, std::move(*f)));
  }
  status create_dirs(const std::string& p) override { return _base.create_dirs(p); }
  status remove_file(const std::string& p) override { return _base.remove_file(p); }
  status remove_all(const std::string& p) override { return _base.remove_all(p); }
  status rename(const std::string& a, const std::string& b) override { return _base.rename(a, b); }
  result<std::vector<std::string>> list_dir(const std::string& p) override {
    return _base.list_dir(p);
  }
  result<bool> exists(const std::string& p) override { return _base.exists(p); }
  status sync_dir(const std::string& p) override {
    note_sync();
    return _base.sync_dir(p);
  }
  result<std::unique_ptr<io::dir_lock>> lock_file(const std::string& p) override {
    return _base.lock_file(p);
  }

 private:
  class recording_file final : public io::file {
   public:
    recording_file(sync_recording_filesystem& fs, io::file_ptr f) : _fs(fs), _f(std::move(f)) {}
    result<size_t> read_at(uint64_t pos, mutable_bytes buf) override {
      return _f->read_at(pos, buf);
    }
    status write_at(uint64_t pos, bytes_view data) override { return _f->write_at(pos, data); }
    status sync_data() override {
      _fs.note_sync();
      return _f->sync_data();
    }
    status truncate(uint64_t size) override { return _f->truncate(size); }
    result<uint64_t> size() override { return _f->size(); }
    int native_handle() const override { return _f->native_handle(); }
    const std::string& path() const override { return _f->path(); }

   private:
    sync_recording_filesystem& _fs;
    io::file_ptr _f;
  };

  io::filesystem& _base;
  std::mutex _mu;
  std::thread::id _watched;
  size_t _syncs_on_watched = 0;
};

class group_commit_test : public ::testing::Test {
 protected:
  std::unique_ptr<partition_log> open(io::filesystem& fs, const std::string& name, log_config cfg) {
    auto log = partition_log::open(fs, _dir / name, cfg, _flusher);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }

  test::temp_dir _dir;
  io::posix_filesystem _posix;
  flusher _flusher{4};
};

// Each log's callbacks fire in append order, also while several workers sync several logs at
// once: an acknowledgement never overtakes an earlier one of the same partition.
TEST_F(group_commit_test, callbacks_of_each_log_fire_in_append_order_across_workers) {
  constexpr int logs = 6;
  constexpr int per_log = 150;
  std::vector<std::unique_ptr<partition_log>> open_logs;
  for (int i = 0; i < logs; ++i) open_logs.push_back(open(_posix, "t-" + std::to_string(i), {}));
  completions done;
  for (int n = 0; n < per_log; ++n) {
    for (int i = 0; i < logs; ++i) {
      auto b = test::make_batch(1, 100);
      auto a = open_logs[i]->append(b, now);
      ASSERT_TRUE(a) << a.error().message();
      open_logs[i]->when_durable(a->next_offset,
                                 [&done, i, end = a->next_offset](status s, durability d) {
                                   done.add(i, end, std::move(s), d);
                                 });
    }
  }
  ASSERT_TRUE(done.wait_for(logs * per_log));
  EXPECT_TRUE(done.errors().empty());
  EXPECT_EQ(done.not_disk(), 0u);
  for (auto& [i, ends] : done.seen()) {
    ASSERT_EQ(ends.size(), size_t(per_log)) << "log " << i;
    EXPECT_TRUE(std::is_sorted(ends.begin(), ends.end())) << "log " << i;
  }
}

// Rolls happen while durable appends are waiting. Every acknowledged record survives a power
// loss (whatever was not synced is dropped), and callbacks still fire in append order.
TEST_F(group_commit_test, roll_under_concurrent_durable_appends_loses_nothing_acknowledged) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg;
  cfg.segment_bytes = 4096;
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  completions done;
  ASSERT_NO_FATAL_FAILURE(append_durably(*log, done, 300, 2, 150));
  EXPECT_TRUE(done.errors().empty());
  EXPECT_EQ(done.not_disk(), 0u);
  auto ends = done.seen()[0];
  EXPECT_TRUE(std::is_sorted(ends.begin(), ends.end()));
  EXPECT_GT(log->segment_count(), 20u);
  offset acknowledged = ends.back();

  // Power loss: only what was synced is left. Reopen on the real disk and read it all.
  test::crash(log);
  ASSERT_TRUE(fs.simulate_power_loss());
  log_recovery_report report;
  auto reopened = partition_log::open(_posix, _dir / "t-0", cfg, _flusher, &report);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_EQ((*reopened)->log_end(), acknowledged);
  EXPECT_EQ(report.truncated_bytes, 0u);
  offset at = (*reopened)->log_start();
  EXPECT_EQ(at, offset(0));
  while (at < acknowledged) {
    auto r = (*reopened)->read(at, 1 << 20);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_GT(r->slice.size, 0u) << "nothing at offset " << at.value;
    byte_buffer bytes(r->slice.size);
    ASSERT_TRUE(r->slice.file->read_at(r->slice.position, bytes));
    for (size_t p = 0; p + 61 <= bytes.size();) {
      auto h = batch_header::parse(bytes_view(bytes).subspan(p));
      ASSERT_EQ(h.base_offset, at);
      at = h.next_offset();
      p += h.total_size();
    }
  }
}

// A roll syncs the segment it closes, its index and the directory on a flusher worker, never
// on the owner's thread (where it stalled the event loop for as long as the sync took).
TEST_F(group_commit_test, roll_leaves_its_syncs_to_the_flusher) {
  for (auto policy : {flush_policy::always, flush_policy::os, flush_policy::interval}) {
    SCOPED_TRACE(to_string(policy));
    sync_recording_filesystem fs(_posix);
    log_config cfg;
    cfg.flush = policy;
    cfg.segment_bytes = 4096;
    auto log = open(fs, std::string("t-") + to_string(policy), cfg);
    ASSERT_TRUE(log);
    fs.watch(std::this_thread::get_id());
    for (int n = 0; n < 40; ++n) {
      auto b = test::make_batch(2, 150);
      ASSERT_TRUE(log->append(b, now));
    }
    ASSERT_TRUE(log->roll());
    EXPECT_GT(log->segment_count(), 3u);
    EXPECT_EQ(fs.syncs_on_watched(), 0u);
    // flush() does sync here, and finds the rolls' work done or does it itself.
    ASSERT_TRUE(log->flush());
    ASSERT_TRUE(log->close());
  }
}

// The roll's sync of the closed segment fails (EIO through the io seam): the waiter for data
// in that segment gets the error, the log refuses further appends with a clear error, and what
// was acknowledged before survives a power loss.
TEST_F(group_commit_test, failed_roll_sync_fails_waiters_and_keeps_what_was_acknowledged) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg;
  // The timer never fires during the test, so the closed segment's only sync is the roll's.
  cfg.flush = flush_policy::interval;
  cfg.flush_interval_ms = 3'600'000;
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  auto first = test::make_batch(2, 100);
  ASSERT_TRUE(log->append(first, now));
  ASSERT_TRUE(log->flush());  // acknowledged: offsets 0-1
  completions done;
  auto second = test::make_batch(3, 100);
  auto a = log->append(second, now);
  ASSERT_TRUE(a);
  log->when_durable(a->next_offset, [&done, end = a->next_offset](status s, durability d) {
    done.add(0, end, std::move(s), d);
  });
  fs.set_path_filter(segment_file_name(offset(0), ".log"));
  fs.fail_syncs(EIO, -1);
  ASSERT_TRUE(log->roll());  // the sync is the flusher's; the roll itself succeeds
  ASSERT_NO_FATAL_FAILURE(expect_failed(*log, done, "syncing segment at roll"));

  fs.clear_faults();
  test::crash(log);
  ASSERT_TRUE(fs.simulate_power_loss());
  auto reopened = partition_log::open(_posix, _dir / "t-0", cfg, _flusher);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_GE((*reopened)->log_end(), offset(2));
  auto r = (*reopened)->read(offset(0), 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_GT(r->slice.size, 0u);
}

// Found by the model soak: a clean close wrote the active segment's index; after the reopen that
// segment grew, a roll closed it, and the roll's sync failed. A power cut then took the
// unsynced tail, the stale index still matched the synced size, and the reopened log kept the
// new (empty) segment: a hole in the offsets where the lost batches had been. Now the log ends
// where its data does.
TEST_F(group_commit_test, power_cut_after_a_failed_roll_leaves_no_hole) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg = timer_never_fires();
  {
    auto log = open(fs, "t-0", cfg);
    ASSERT_TRUE(log);
    auto b = test::make_batch(2, 100);
    ASSERT_TRUE(log->append(b, now));
    ASSERT_TRUE(log->close());  // writes the active segment's index, at offset 2
  }
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  auto b = test::make_batch(3, 100);
  ASSERT_TRUE(log->append(b, now));  // offsets 2-4, never synced
  fs.set_path_filter(".log");
  fs.fail_syncs(EIO, -1);
  ASSERT_TRUE(log->roll());
  log->wait_for_rolls();
  ASSERT_TRUE(log->failure());
  fs.clear_faults();
  test::crash(log);
  ASSERT_TRUE(fs.simulate_power_loss());
  log_recovery_report report;
  auto reopened = partition_log::open(_posix, _dir / "t-0", cfg, _flusher, &report);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_EQ((*reopened)->log_end(), offset(2));
  EXPECT_EQ((*reopened)->segment_count(), 1u);
  auto r = (*reopened)->read(offset(0), 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_GT(r->slice.size, 0u);
  // Appends continue at the end, so offsets stay contiguous.
  auto more = test::make_batch(1, 10);
  auto a = (*reopened)->append(more, now);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->base_offset, offset(2));
}

// A failing fdatasync of the active segment under `always`: every waiter hears of it, none is
// told "disk", and the log refuses appends from then on.
TEST_F(group_commit_test, failed_sync_reaches_every_waiter_with_the_error) {
  io::fault_injecting_filesystem fs(_posix);
  auto log = open(fs, "t-0", {});
  ASSERT_TRUE(log);
  fs.set_path_filter(".log");
  fs.fail_syncs(EIO, -1);
  completions done;
  constexpr int batches = 20;
  for (int n = 0; n < batches; ++n) {
    auto b = test::make_batch(1, 100);
    auto a = log->append(b, now);
    if (!a) {
      // The first failed sync may already have failed the log.
      EXPECT_EQ(a.error().code, make_error_code(errc::log_failed));
      done.add(0, offset(-1), a.error(), durability::page_cache);
      continue;
    }
    log->when_durable(a->next_offset, [&done, end = a->next_offset](status s, durability d) {
      done.add(0, end, std::move(s), d);
    });
  }
  ASSERT_TRUE(done.wait_for(batches));
  EXPECT_EQ(done.errors().size(), size_t(batches));
  EXPECT_TRUE(log->failure());
  fs.clear_faults();
}

// Waits (bounded, generously) until `pred` holds.
template <class Pred>
bool eventually(Pred pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Appends one small batch and registers its durability callback with `done` under `id`.
void append_and_wait(partition_log& log, completions& done, int id) {
  auto b = test::make_batch(1, 100);
  auto a = log.append(b, now);
  ASSERT_TRUE(a) << a.error().message();
  log.when_durable(a->next_offset, [&done, id, end = a->next_offset](status s, durability d) {
    done.add(id, end, std::move(s), d);
  });
}

class second_sync_test : public ::testing::Test {
 protected:
  // A log whose first sync of the active file is held in flight (in the fault injector) with
  // batch A waiting for it.
  void SetUp() override {
    auto log = partition_log::open(_faulty, _dir / "t-0", {}, _flusher);
    ASSERT_TRUE(log) << log.error().message();
    _log = std::move(*log);
    _faulty.set_path_filter(".log");
    _faulty.hold_syncs(1);
    append_and_wait(*_log, _done, 0);
    ASSERT_TRUE(eventually([&] { return _faulty.held_syncs() == 1; }));
  }
  void TearDown() override {
    _faulty.clear_faults();  // lets a held sync go
    if (_log) (void)_log->close();
  }

  // Declared so that the flusher (whose workers may still be inside a sync of the injector's
  // files) is destroyed, and its threads joined, before the injector and the folder.
  test::temp_dir _dir;
  io::posix_filesystem _posix;
  io::fault_injecting_filesystem _faulty{_posix};
  completions _done;
  flusher _flusher{4};
  std::unique_ptr<partition_log> _log;
};

// While sync N is in flight, a batch appended meanwhile is covered by sync N+1, started at
// once on another descriptor: both batches are acknowledged (from disk) before sync N returns.
TEST_F(second_sync_test, appends_during_a_sync_are_covered_by_a_second_one_in_flight) {
  append_and_wait(*_log, _done, 1);
  ASSERT_TRUE(_done.wait_for(2));
  EXPECT_EQ(_faulty.held_syncs(), 1);  // the first sync has not returned
  EXPECT_TRUE(_done.errors().empty());
  EXPECT_EQ(_done.not_disk(), 0u);
  _faulty.release_syncs();
  EXPECT_TRUE(_log->flush());
  EXPECT_FALSE(_log->failure());
}

// The second descriptor's sync fails while the first is still in flight: its error reaches the
// batch it covered and also the one that waited for the first sync (the lost pages could be
// any of them), and the log fails; the first sync returning ok afterwards changes nothing.
TEST_F(second_sync_test, error_of_the_second_descriptor_reaches_every_waiter_it_covers) {
  _faulty.fail_syncs(EIO, 1);
  append_and_wait(*_log, _done, 1);
  ASSERT_TRUE(_done.wait_for(2));
  EXPECT_EQ(_faulty.held_syncs(), 1);
  EXPECT_EQ(_done.errors().size(), 2u);
  EXPECT_TRUE(_log->failure());
  _faulty.release_syncs();
  auto c = test::make_batch(1, 10);
  auto later = _log->append(c, now);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, make_error_code(errc::log_failed));
  EXPECT_FALSE(_log->flush());
}

// The first sync fails after the second one succeeded: what the second acknowledged stays
// acknowledged (its own descriptor reported no error, so its data is on disk), the log fails,
// and a waiter that arrives later gets the error.
TEST_F(second_sync_test, first_sync_failing_last_fails_the_log_for_later_waiters) {
  append_and_wait(*_log, _done, 1);
  ASSERT_TRUE(_done.wait_for(2));
  EXPECT_TRUE(_done.errors().empty());
  // The held first sync is released to fail.
  _faulty.fail_syncs(EIO, 1);
  _faulty.release_syncs();
  ASSERT_TRUE(eventually([&] { return _log->failure().has_value(); }));
  completions after;
  auto b = test::make_batch(1, 10);
  auto a = _log->append(b, now);
  if (a) {
    _log->when_durable(a->next_offset,
                       [&after](status s, durability d) { after.add(2, offset(0), s, d); });
    ASSERT_TRUE(after.wait_for(1));
    EXPECT_EQ(after.errors().size(), 1u);
  } else {
    EXPECT_EQ(a.error().code, make_error_code(errc::log_failed));
  }
  EXPECT_EQ(_done.errors().size(), 0u);
}

// A roll's work run by the owner itself (wait_for_rolls, as retention does) while the only
// worker takes the target and finds that work running: the worker lets the target go, and the
// append made after the roll did not queue it (its sync had to wait for the roll). The owner
// must hand it back, or that append waits until some later append (integration.retention saw
// an acks=all produce time out and be sent again).
TEST(group_commit_handoff, an_append_after_a_roll_the_owner_completed_is_still_synced) {
  test::temp_dir dir;
  io::posix_filesystem posix;
  io::fault_injecting_filesystem busy_fs{posix};
  io::fault_injecting_filesystem log_fs{posix};
  completions done;
  flusher one_worker{1};
  auto other = partition_log::open(busy_fs, dir / "other-0", {}, one_worker);
  auto log = partition_log::open(log_fs, dir / "t-0", {}, one_worker);
  ASSERT_TRUE(other && log);
  // The only worker is held in a sync of another log.
  busy_fs.hold_syncs(1);
  append_and_wait(**other, done, 0);
  ASSERT_TRUE(eventually([&] { return busy_fs.held_syncs() == 1; }));
  // t-0 rolls (its work queued for the busy worker), then takes an append that waits for disk.
  auto first = test::make_batch(1, 100);
  ASSERT_TRUE((*log)->append(first, now));
  ASSERT_TRUE((*log)->roll());
  append_and_wait(**log, done, 1);
  // The owner runs the roll's work itself, held in its first sync.
  log_fs.hold_syncs(1);
  std::thread owner([&] { (*log)->wait_for_rolls(); });
  ASSERT_TRUE(eventually([&] { return log_fs.held_syncs() == 1; }));
  // The worker finishes the other log and takes t-0 while its roll work runs on the owner.
  busy_fs.release_syncs();
  ASSERT_TRUE(done.wait_for(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  log_fs.release_syncs();
  owner.join();
  // Nothing else is appended: the waiter is completed all the same, from disk.
  ASSERT_TRUE(done.wait_for(2));
  EXPECT_TRUE(done.errors().empty());
  EXPECT_EQ(done.not_disk(), 0u);
  EXPECT_TRUE((*log)->close());
  EXPECT_TRUE((*other)->close());
}

// Write-behind under `interval` (flusher.h): the log asks for the write-back of each
// write_behind_bytes of the active file as it is written, per file, from where the last request
// ended, and never turns a request into an fdatasync: with the timer an hour away, no sync of
// the segment happens until flush().
TEST_F(group_commit_test, interval_write_behind_starts_writeback_without_syncing) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg = timer_never_fires(64 * 1024);
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  fs.set_path_filter(".log");
  uint64_t syncs_before = fs.syncs();
  auto append_kib = [&](uint64_t kib) {
    uint64_t written = 0;
    while (written < kib * 1024) {
      auto b = test::make_batch(16, 1000);
      auto a = log->append(b, now);
      ASSERT_TRUE(a) << a.error().message();
      written += a->size;
    }
  };
  // Requests cover each file from 0 without a gap or an overlap, up to within one step of its
  // data (the last step may not be due yet).
  auto covered = [&](const std::string& name) {
    uint64_t end = 0;
    for (auto& w : fs.writebacks()) {
      if (w.path.find(name) == std::string::npos) continue;
      EXPECT_EQ(w.pos, end) << name;
      EXPECT_GE(w.len, cfg.write_behind_bytes) << name;
      end = w.pos + w.len;
    }
    return end;
  };
  std::string first = segment_file_name(offset(0), ".log");
  append_kib(1024);
  uint64_t first_size = log->size_bytes();
  ASSERT_TRUE(eventually([&] { return covered(first) + cfg.write_behind_bytes > first_size; }));
  EXPECT_LE(covered(first), first_size);
  EXPECT_EQ(fs.syncs(), syncs_before);  // write-behind is not a sync

  // After a roll the new file's requests start at its position 0.
  ASSERT_TRUE(log->roll());
  offset second_base = log->log_end();
  log->wait_for_rolls();
  append_kib(512);
  std::string second = segment_file_name(second_base, ".log");
  uint64_t second_size = log->size_bytes() - first_size;
  ASSERT_TRUE(eventually([&] { return covered(second) + cfg.write_behind_bytes > second_size; }));
  EXPECT_LE(covered(second), second_size);
  // None for the closed file once the roll is done.
  uint64_t first_requests = 0;
  for (auto& w : fs.writebacks()) first_requests += w.path.find(first) != std::string::npos;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  uint64_t first_requests_later = 0;
  for (auto& w : fs.writebacks()) first_requests_later += w.path.find(first) != std::string::npos;
  EXPECT_EQ(first_requests_later, first_requests);

  ASSERT_TRUE(log->flush());
  EXPECT_TRUE(log->close());
}

// A refused write-behind request (EINVAL) costs nothing but the head start: the log does not
// fail, and the data written is made durable by the next sync as ever (a power cut after
// flush() keeps all of it).
TEST_F(group_commit_test, refused_write_behind_neither_fails_the_log_nor_loses_data) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg = timer_never_fires(32 * 1024);
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  fs.set_path_filter(".log");
  fs.fail_writeback(EINVAL);
  offset end;
  for (int n = 0; n < 40; ++n) {
    auto b = test::make_batch(16, 1000);
    auto a = log->append(b, now);
    ASSERT_TRUE(a) << a.error().message();
    end = a->next_offset;
  }
  // Every request was made (and refused): together they reach within a step of the end.
  uint64_t size = log->size_bytes();
  ASSERT_TRUE(eventually([&] {
    uint64_t asked = 0;
    for (auto& w : fs.writebacks()) asked += w.len;
    return asked + cfg.write_behind_bytes > size;
  }));
  EXPECT_FALSE(log->failure());
  auto more = test::make_batch(1, 10);
  auto last = log->append(more, now);
  ASSERT_TRUE(last) << last.error().message();
  end = last->next_offset;
  ASSERT_TRUE(log->flush());
  fs.clear_faults();
  test::crash(log);
  ASSERT_TRUE(fs.simulate_power_loss());
  auto reopened = partition_log::open(_posix, _dir / "t-0", cfg, _flusher);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_EQ((*reopened)->log_end(), end);
}

// A write-back that fails to start with EIO may leave its pages clean without their data on
// disk, where the timer's fdatasync would find nothing to write and succeed. So it fails the
// log like a failed fdatasync: the waiter hears of it, appends are refused, and what was
// synced before survives a power cut.
TEST_F(group_commit_test, failed_write_behind_fails_the_log_like_a_failed_sync) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg = timer_never_fires(32 * 1024);
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  auto first = test::make_batch(2, 100);
  auto synced = log->append(first, now);
  ASSERT_TRUE(synced);
  ASSERT_TRUE(log->flush());
  fs.set_path_filter(".log");
  fs.fail_writeback(EIO);
  completions done;
  offset end;
  for (int n = 0; n < 40; ++n) {
    auto b = test::make_batch(16, 1000);
    auto a = log->append(b, now);
    if (!a) {
      EXPECT_EQ(a.error().code, make_error_code(errc::log_failed));  // failed meanwhile
      break;
    }
    end = a->next_offset;
  }
  log->when_durable(end,
                    [&done, end](status s, durability d) { done.add(0, end, std::move(s), d); });
  ASSERT_NO_FATAL_FAILURE(expect_failed(*log, done, "starting write-back"));

  fs.clear_faults();
  test::crash(log);
  ASSERT_TRUE(fs.simulate_power_loss());
  auto reopened = partition_log::open(_posix, _dir / "t-0", cfg, _flusher);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_GE((*reopened)->log_end(), synced->next_offset);
}

// A sync that ends while a failing write-behind request is still in progress may have found
// the request's pages clean without their data on disk: what it proved waits for the request,
// and when that fails, nothing it covered is reported durable.
TEST_F(group_commit_test, a_sync_during_a_failing_write_behind_reports_nothing_durable) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg = timer_never_fires(32 * 1024);
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  fs.set_path_filter(".log");
  fs.fail_writeback(EIO);
  fs.hold_writebacks(1);
  completions done;
  offset end;
  for (int n = 0; n < 4; ++n) {
    auto b = test::make_batch(16, 1000);
    auto a = log->append(b, now);
    ASSERT_TRUE(a) << a.error().message();
    end = a->next_offset;
  }
  log->when_durable(end,
                    [&done, end](status s, durability d) { done.add(0, end, std::move(s), d); });
  ASSERT_TRUE(eventually([&] { return fs.held_writebacks() == 1; }));
  // flush() syncs the file (successfully) while the request is held, then waits for it.
  uint64_t syncs_before = fs.syncs();
  std::thread flusher_call([&] { EXPECT_FALSE(log->flush()); });
  ASSERT_TRUE(eventually([&] { return fs.syncs() > syncs_before; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done.errors().size() + done.not_disk(), 0u);  // nothing completed yet
  fs.release_writebacks();
  flusher_call.join();
  ASSERT_TRUE(done.wait_for(1));
  ASSERT_EQ(done.errors().size(), 1u);
  EXPECT_NE(done.errors()[0].find("starting write-back"), std::string::npos) << done.errors()[0];
  EXPECT_TRUE(log->failure());
  fs.clear_faults();
}

// The interval timer still syncs a log whose write-behind is running: its waiters are completed
// from disk without a flush().
TEST_F(group_commit_test, interval_timer_syncs_alongside_write_behind) {
  io::fault_injecting_filesystem fs(_posix);
  log_config cfg;
  cfg.flush = flush_policy::interval;
  cfg.flush_interval_ms = 20;
  cfg.write_behind_bytes = 16 * 1024;
  auto log = open(fs, "t-0", cfg);
  ASSERT_TRUE(log);
  fs.set_path_filter(".log");
  completions done;
  ASSERT_NO_FATAL_FAILURE(append_durably(*log, done, 200, 16, 1000));
  EXPECT_TRUE(done.errors().empty());
  EXPECT_EQ(done.not_disk(), 0u);
  EXPECT_FALSE(fs.writebacks().empty());
  EXPECT_TRUE(log->close());
}

}  // namespace
}  // namespace spate::storage
