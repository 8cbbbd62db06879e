// The append ring (storage/append_ring.h) inside a partition log, on real files: what goes in
// comes out of the segment byte for byte, in order, across rolls, reads and syncs; a failed
// write of the ring fails the log and the next open restores what the ring held; what a
// process that died left in the ring is restored at open; a stale or foreign ring file is
// ignored; the process's budget bounds how many logs take a ring.
#include "storage/append_ring.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "storage/storage_metrics.h"
#include "support/batch_builder.h"
#include "support/crash.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

const timestamp_ms now(1'700'000'000'000);
constexpr uint64_t ring_bytes = 256 * 1024;

log_config ring_config(flush_policy policy = flush_policy::os) {
  log_config c;
  c.flush = policy;
  c.append_ring_bytes = ring_bytes;
  return c;
}

class append_ring_test : public ::testing::Test {
 protected:
  void SetUp() override {
    _faulty.allow_mapping(true);
    // Room for this test's rings whatever earlier tests left mapped (logs they "crashed").
    _old_budget = append_ring::set_budget(append_ring::mapped_bytes() + 4 * ring_bytes);
  }
  void TearDown() override { append_ring::set_budget(_old_budget); }
  uint64_t _old_budget = 0;

  std::unique_ptr<partition_log> open(log_config cfg, log_recovery_report* report = nullptr,
                                      const std::string& name = "t-0") {
    auto log = partition_log::open(_faulty, dir(name), cfg, _flusher, report);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }
  std::string dir(const std::string& name = "t-0") const { return _dir / name; }
  bool ring_file_exists(const std::string& name = "t-0") const {
    return std::filesystem::exists(std::filesystem::path(_dir / name) / append_ring::file_name);
  }
  // Appends `b` and adds the bytes the log stored (base offset set) to `expected`.
  void append_expecting(partition_log& log, byte_buffer b, byte_buffer& expected) {
    auto a = log.append(b, now);
    ASSERT_TRUE(a) << a.error().message();
    set_base_offset(b, a->base_offset);
    append_bytes(expected, b);
  }
  // 400 batches of ~2 KB: past the ring_bytes a log appends before it takes its ring.
  void fill_past_the_ring_start(partition_log& log, byte_buffer& expected) {
    for (int i = 0; i < 400; ++i) append_expecting(log, test::make_batch(2, 1000), expected);
  }
  // Everything from `from` to the log end, read as a fetch does: slices sent from the file.
  static byte_buffer read_all(partition_log& log, offset from = offset(0)) {
    byte_buffer out;
    while (from < log.log_end()) {
      auto r = log.read(from, 1 << 20);
      EXPECT_TRUE(r) << r.error().message();
      if (!r || r->slice.size == 0) break;
      byte_buffer part(r->slice.size);
      auto n = r->slice.file->read_at(r->slice.position, part);
      EXPECT_TRUE(n && *n == part.size());
      size_t p = 0;
      while (p + 61 <= part.size()) {
        auto h = batch_header::parse(bytes_view(part).subspan(p));
        from = h.next_offset();
        p += h.total_size();
      }
      append_bytes(out, part);
    }
    return out;
  }

  // Closes a log that failed on a ring write (the ring file stays), lets the disk work again
  // and reopens: the open restores what the ring held (`expected` reads back, the report says
  // so) and removes the ring file, its bytes now synced in the segment.
  std::unique_ptr<partition_log> close_failed_and_reopen(std::unique_ptr<partition_log>& log,
                                                         const byte_buffer& expected) {
    EXPECT_TRUE(log->close());
    EXPECT_TRUE(ring_file_exists());
    log.reset();
    _faulty.clear_faults();
    log_recovery_report report;
    auto again = open(ring_config(), &report);
    if (!again) return nullptr;
    EXPECT_EQ(read_all(*again), expected);
    bool restored = false;
    for (auto& n : report.notes) restored |= n.find("restored") != std::string::npos;
    EXPECT_TRUE(restored);
    EXPECT_FALSE(ring_file_exists());
    return again;
  }
  // What the process's rings map, once it is `target` or after a second: the ring writer may
  // still hold a released ring for a moment after its last piece.
  static uint64_t mapped_bytes_settled_at(uint64_t target) {
    for (int i = 0; i < 200 && append_ring::mapped_bytes() != target; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return append_ring::mapped_bytes();
  }

  test::temp_dir _dir;
  io::posix_filesystem _fs;
  io::fault_injecting_filesystem _faulty{_fs};
  flusher _flusher;
};

TEST_F(append_ring_test, a_busy_log_appends_through_its_ring_and_reads_back_every_byte) {
  auto log = open(ring_config());
  auto written_before = storage_metrics::get().append_ring_written_bytes.value();
  byte_buffer expected;
  // Below a ring's worth of data since open, appends write the file directly.
  for (int i = 0; i < 100; ++i) append_expecting(*log, test::make_batch(4, 500), expected);
  EXPECT_FALSE(ring_file_exists());
  for (int i = 0; i < 1500; ++i) {
    append_expecting(*log, test::make_batch(1 + i % 7, 300 + i % 500), expected);
    if (i % 97 == 0) {
      // A fetch at the tail: the ring is written out first, so the file has it all.
      ASSERT_EQ(read_all(*log), expected) << "after append " << i;
    }
  }
  EXPECT_TRUE(ring_file_exists());
  EXPECT_GT(storage_metrics::get().append_ring_written_bytes.value(), written_before);
  EXPECT_EQ(read_all(*log), expected);
  // A clean close writes the ring out, syncs, and removes its file.
  ASSERT_TRUE(log->close());
  EXPECT_FALSE(ring_file_exists());
  log.reset();
  log_recovery_report report;
  log = open(ring_config(), &report);
  EXPECT_TRUE(report.clean_shutdown);
  EXPECT_EQ(read_all(*log), expected);
}

TEST_F(append_ring_test, batches_too_large_for_the_ring_are_written_in_order_after_it) {
  auto log = open(ring_config());
  byte_buffer expected;
  for (int i = 0; i < 300; ++i) append_expecting(*log, test::make_batch(2, 1000), expected);
  ASSERT_TRUE(ring_file_exists());
  for (int i = 0; i < 20; ++i) {
    append_expecting(*log, test::make_batch(2, 700), expected);
    // Over half the ring: written directly, once the ring before it is in the file.
    append_expecting(*log, test::make_batch(1, ring_bytes / 2 + 1000), expected);
    append_expecting(*log, test::make_batch(3, 100), expected);
  }
  auto got = read_all(*log);
  ASSERT_EQ(got.size(), expected.size());
  size_t diff = 0;
  while (diff < got.size() && got[diff] == expected[diff]) ++diff;
  EXPECT_EQ(diff, got.size());
}

TEST_F(append_ring_test, rolls_write_the_ring_out_into_the_segment_they_close) {
  log_config cfg = ring_config();
  cfg.segment_bytes = 96 * 1024;
  auto log = open(cfg);
  byte_buffer expected;
  for (int i = 0; i < 2000; ++i)
    append_expecting(*log, test::make_batch(1, 400 + i % 300), expected);
  EXPECT_GT(log->segment_count(), 5u);
  EXPECT_EQ(read_all(*log), expected);
  // Each closed segment is whole on disk: an unclean reopen scans only the active one and
  // trusts the closed ones' indexes, which describe their files.
  log->wait_for_rolls();
  test::crash(log);
  log_recovery_report report;
  auto again = open(cfg, &report);
  EXPECT_FALSE(report.clean_shutdown);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(read_all(*again), expected);
}

// A failed write of the ring comes after its appends were answered: the log fails, says why,
// and keeps the bytes in the ring file, from which the next open restores them.
TEST_F(append_ring_test, a_failed_ring_write_fails_the_log_and_the_next_open_restores_it) {
  auto log = open(ring_config());
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_TRUE(ring_file_exists());
  ASSERT_EQ(read_all(*log), expected);  // written out: the file has all so far
  auto failures_before = storage_metrics::get().append_ring_failures.value();
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(0, EIO);
  // Answered from the ring until the ring writer's write fails; then refused.
  size_t answered = 0;
  for (int i = 0; i < 1000; ++i) {
    byte_buffer b = test::make_batch(2, 1000);
    auto a = log->append(b, now);
    if (!a) {
      EXPECT_NE(a.error().message().find("append ring"), std::string::npos) << a.error().message();
      break;
    }
    set_base_offset(b, a->base_offset);
    append_bytes(expected, b);
    ++answered;
  }
  ASSERT_GT(answered, 0u);
  ASSERT_TRUE(log->failure());
  EXPECT_NE(log->failure()->message().find("append ring"), std::string::npos)
      << log->failure()->message();
  EXPECT_GT(storage_metrics::get().append_ring_failures.value(), failures_before);
  // Later appends and reads of what the ring holds fail too, with the same cause.
  byte_buffer late = test::make_batch(1, 10);
  auto refused = log->append(late, now);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::log_failed));
  // Closed after the failure: nothing more is written (the ring is detached), and the ring
  // file stays for the next open. Then the disk works again.
  auto again = close_failed_and_reopen(log, expected);
  ASSERT_TRUE(again);
  // And it appends again.
  append_expecting(*again, test::make_batch(1, 10), expected);
  EXPECT_EQ(read_all(*again), expected);
}

// What a process leaves in the ring when it dies is in the page cache (a shared mapping), and
// the next open copies it into the segment. The ring writer is kept from writing (its writes
// are held) so that the ring holds the tail when the "process" stops.
TEST_F(append_ring_test, a_process_that_dies_leaves_its_ring_for_the_next_open) {
  auto log = open(ring_config());
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_EQ(read_all(*log), expected);
  uint64_t in_file = log->size_bytes();
  _faulty.set_path_filter(".log");
  _faulty.hold_writes(1);
  // Less than half the ring, so that no put waits for room behind the held write.
  for (int i = 0; i < 50; ++i) append_expecting(*log, test::make_batch(1, 1000), expected);
  // The ring writer's sweep takes the tail and is held inside its write.
  for (int i = 0; i < 200 && _faulty.held_writes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(_faulty.held_writes(), 1);
  // The process dies here: nothing more is written, the file ends where it ended.
  test::crash(log);
  // Restore the file as the dead process left it, then let the held write go into a copy
  // nobody reads (the writer thread must not stay blocked).
  {
    std::filesystem::path seg = std::filesystem::path(dir()) / "00000000000000000000.log";
    std::filesystem::copy_file(seg, seg.string() + ".dead");
    std::filesystem::resize_file(seg.string() + ".dead", in_file);
  }
  _faulty.set_path_filter(".never");
  _faulty.release_writes();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::filesystem::path seg = std::filesystem::path(dir()) / "00000000000000000000.log";
    std::filesystem::rename(seg.string() + ".dead", seg);
  }
  ASSERT_EQ(std::filesystem::file_size(std::filesystem::path(dir()) / "00000000000000000000.log"),
            in_file);
  log_recovery_report report;
  auto again = open(ring_config(), &report);
  EXPECT_EQ(read_all(*again), expected);
  EXPECT_EQ(again->size_bytes(), expected.size());
}

// Under `interval` the timer's fdatasync (or flush) writes the ring out before it syncs, so a
// power cut after it loses nothing, even with the ring file gone too.
TEST_F(append_ring_test, a_sync_writes_the_ring_out_before_it_syncs) {
  log_config cfg = ring_config(flush_policy::interval);
  cfg.flush_interval_ms = 3'600'000;  // only flush() syncs here
  auto log = open(cfg);
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_TRUE(ring_file_exists());
  for (int i = 0; i < 30; ++i) append_expecting(*log, test::make_batch(1, 500), expected);
  std::promise<std::pair<bool, durability>> done;
  log->when_durable(log->log_end(), [&](status s, durability d) { done.set_value({bool(s), d}); });
  ASSERT_TRUE(log->flush());
  auto [ok_, d] = done.get_future().get();
  EXPECT_TRUE(ok_);
  EXPECT_EQ(d, durability::disk);
  test::crash(log);
  ASSERT_TRUE(_faulty.simulate_power_loss());
  std::filesystem::remove(std::filesystem::path(dir()) / append_ring::file_name);
  auto again = open(cfg);
  EXPECT_EQ(read_all(*again), expected);
}

// The interval timer's sync held in flight (it has written the ring out and waits in
// fdatasync) while the owner appends through the ring, rolls, and appends into the new
// segment: every waiter is answered from disk once the syncs run, and a power cut then loses
// nothing, with the ring file gone too.
TEST_F(append_ring_test, an_interval_sync_in_flight_across_a_roll_covers_what_it_reports) {
  log_config cfg = ring_config(flush_policy::interval);
  cfg.flush_interval_ms = 5;
  auto log = open(cfg);
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_TRUE(log->flush());
  struct release_on_exit {
    io::fault_injecting_filesystem& fs;
    ~release_on_exit() { fs.clear_faults(); }  // a held sync must not outlive a failed check
  } guard{_faulty};
  _faulty.set_path_filter(".log");
  _faulty.hold_syncs(1);
  std::vector<std::future<std::pair<bool, durability>>> answers;
  auto wait_for_end = [&] {
    auto done = std::make_shared<std::promise<std::pair<bool, durability>>>();
    answers.push_back(done->get_future());
    log->when_durable(log->log_end(), [done](status st, durability d) {
      done->set_value({bool(st), d});
    });
  };
  for (int i = 0; i < 30; ++i) append_expecting(*log, test::make_batch(1, 500), expected);
  wait_for_end();
  for (int i = 0; i < 2000 && _faulty.held_syncs() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(_faulty.held_syncs(), 1);
  // The timer's sync waits in fdatasync; the owner goes on, through a roll.
  for (int i = 0; i < 20; ++i) append_expecting(*log, test::make_batch(1, 700), expected);
  wait_for_end();
  const size_t segments = log->segment_count();
  ASSERT_TRUE(log->roll());
  ASSERT_EQ(log->segment_count(), segments + 1);
  for (int i = 0; i < 20; ++i) append_expecting(*log, test::make_batch(1, 900), expected);
  wait_for_end();
  // (No read here: a read writes the ring out, which the syncs must do themselves.)
  _faulty.release_syncs();
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    auto [ok_, d] = a.get();
    EXPECT_TRUE(ok_);
    EXPECT_EQ(d, durability::disk);
  }
  EXPECT_FALSE(log->failure());
  test::crash(log);
  ASSERT_TRUE(_faulty.simulate_power_loss());
  std::filesystem::remove(std::filesystem::path(dir()) / append_ring::file_name);
  auto again = open(cfg);
  EXPECT_EQ(read_all(*again), expected);
  EXPECT_EQ(again->segment_count(), segments + 1);
}

TEST_F(append_ring_test, switching_to_always_writes_the_ring_out_and_removes_it) {
  auto log = open(ring_config());
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_TRUE(ring_file_exists());
  ASSERT_TRUE(log->set_config(ring_config(flush_policy::always)));
  EXPECT_FALSE(ring_file_exists());
  for (int i = 0; i < 10; ++i) append_expecting(*log, test::make_batch(2, 1000), expected);
  EXPECT_FALSE(ring_file_exists());
  EXPECT_EQ(read_all(*log), expected);
}

TEST_F(append_ring_test, the_budget_bounds_the_rings_of_the_process) {
  // Rings of logs that earlier tests left "crashed" are still mapped.
  const uint64_t others = append_ring::mapped_bytes();
  uint64_t old = append_ring::set_budget(others + ring_bytes);
  auto a = open(ring_config(), nullptr, "a-0");
  auto b = open(ring_config(), nullptr, "b-0");
  byte_buffer ea, eb;
  for (int i = 0; i < 400; ++i) {
    append_expecting(*a, test::make_batch(2, 1000), ea);
    append_expecting(*b, test::make_batch(2, 1000), eb);
  }
  EXPECT_TRUE(ring_file_exists("a-0"));
  EXPECT_FALSE(ring_file_exists("b-0"));
  EXPECT_EQ(append_ring::mapped_bytes(), others + ring_bytes);
  // The ring goes back to the budget at close, and the other log takes it.
  ASSERT_TRUE(a->close());
  a.reset();
  EXPECT_EQ(mapped_bytes_settled_at(others), others);
  for (int i = 0; i < 10; ++i) append_expecting(*b, test::make_batch(2, 1000), eb);
  EXPECT_TRUE(ring_file_exists("b-0"));
  EXPECT_EQ(read_all(*b), eb);
  ASSERT_TRUE(b->close());
  append_ring::set_budget(old);
}

// A log that appended nothing between two looks gives its ring back (release_idle_ring): the
// data stays readable, the file goes, the budget gets the ring back and another busy log takes
// it; the idle log takes a ring again only after another ring's worth of appends.
TEST_F(append_ring_test, an_idle_log_gives_its_ring_back_to_the_budget) {
  const uint64_t others = append_ring::mapped_bytes();
  uint64_t old = append_ring::set_budget(others + ring_bytes);
  auto a = open(ring_config(flush_policy::interval), nullptr, "a-0");
  auto b = open(ring_config(), nullptr, "b-0");
  byte_buffer ea, eb;
  fill_past_the_ring_start(*a, ea);
  fill_past_the_ring_start(*b, eb);
  ASSERT_TRUE(a->has_ring());
  ASSERT_FALSE(b->has_ring());  // over the budget
  // Busy between the looks: kept.
  auto kept = a->release_idle_ring();
  ASSERT_TRUE(kept && !*kept);
  append_expecting(*a, test::make_batch(2, 1000), ea);
  kept = a->release_idle_ring();
  ASSERT_TRUE(kept && !*kept);
  EXPECT_TRUE(a->has_ring());
  // Idle since the last look: given back, with every byte in the segment.
  auto released = a->release_idle_ring();
  ASSERT_TRUE(released) << released.error().message();
  EXPECT_TRUE(*released);
  EXPECT_FALSE(a->has_ring());
  EXPECT_FALSE(ring_file_exists("a-0"));
  EXPECT_EQ(read_all(*a), ea);
  EXPECT_EQ(mapped_bytes_settled_at(others), others);
  // The busy log takes it at its next append.
  append_expecting(*b, test::make_batch(2, 1000), eb);
  EXPECT_TRUE(b->has_ring());
  // The idle log appends directly until another ring's worth, then tries again (and finds
  // the budget taken).
  append_expecting(*a, test::make_batch(2, 1000), ea);
  EXPECT_FALSE(a->has_ring());
  ASSERT_TRUE(b->close());
  b.reset();
  mapped_bytes_settled_at(others);
  for (int i = 0; i < 20; ++i) append_expecting(*a, test::make_batch(2, 1000), ea);
  EXPECT_FALSE(a->has_ring()) << "took a ring before another ring's worth of appends";
  fill_past_the_ring_start(*a, ea);
  EXPECT_TRUE(a->has_ring());
  EXPECT_EQ(read_all(*a), ea);
  // Under `interval` the data the ring held is made durable by the next sync, as before.
  ASSERT_TRUE(a->flush());
  ASSERT_TRUE(a->close());
  append_ring::set_budget(old);
}

// Giving back a ring whose write-out fails (or whose writer failed first) fails the log and
// keeps the ring file; the next open restores what it held.
TEST_F(append_ring_test, an_idle_release_that_cannot_write_the_ring_out_keeps_its_file) {
  auto log = open(ring_config());
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  ASSERT_EQ(read_all(*log), expected);
  ASSERT_TRUE(log->has_ring());
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(0, EIO);
  // Below the writer's wake-up mark: still in the ring for a few ms (its sweep).
  for (int i = 0; i < 20; ++i) append_expecting(*log, test::make_batch(1, 1000), expected);
  auto first = log->release_idle_ring();  // appended since the last look: kept
  ASSERT_TRUE(first && !*first);
  auto second = log->release_idle_ring();
  // Either the release's own write-out failed, or the writer's sweep did just before and the
  // failed log keeps its ring.
  EXPECT_TRUE(!second || !*second);
  ASSERT_TRUE(log->failure());
  EXPECT_NE(log->failure()->message().find("append ring"), std::string::npos)
      << log->failure()->message();
  EXPECT_TRUE(ring_file_exists());
  EXPECT_TRUE(close_failed_and_reopen(log, expected));
}

TEST_F(append_ring_test, without_mmap_logs_append_directly) {
  _faulty.allow_mapping(false);
  auto log = open(ring_config());
  byte_buffer expected;
  fill_past_the_ring_start(*log, expected);
  EXPECT_FALSE(ring_file_exists());
  EXPECT_EQ(read_all(*log), expected);
}

// A ring file that is not a ring (or of an older format), or one that belongs to a segment
// that is gone, restores nothing and is removed. One for the active segment whose bytes are
// not batches (what a power cut may leave) is copied, fails the scan and is cut: the data
// before it is untouched.
TEST_F(append_ring_test, a_foreign_stale_or_garbage_ring_file_restores_nothing) {
  byte_buffer expected;
  {
    auto log = open(ring_config());
    fill_past_the_ring_start(*log, expected);
    ASSERT_TRUE(log->close());
  }
  std::filesystem::path ring = std::filesystem::path(dir()) / append_ring::file_name;
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    if (variant == 0) {
      std::ofstream(ring) << std::string(8192, 'x');
    } else {
      // A ring that holds a "batch" past the log's end: for a segment based at offset 7,
      // which this log does not have (variant 1), or for its own segment but garbage
      // (variant 2). Its writer writes into a scratch file, not the log.
      auto r = append_ring::create(_faulty, ring.string(), ring_bytes, _flusher.rings());
      ASSERT_TRUE(r && *r);
      auto scratch = _faulty.open(_dir / "scratch", io::open_mode::read_write_create);
      ASSERT_TRUE(scratch);
      (*r)->bind(*scratch, variant == 1 ? offset(7) : offset(0), expected.size());
      byte_buffer junk = test::make_batch(1, 100);
      if (variant == 2) std::fill(junk.begin() + 12, junk.end(), uint8_t{0x5a});
      bytes_view part(junk);
      ASSERT_TRUE((*r)->put(std::span<const bytes_view>(&part, 1)));
    }
    log_recovery_report report;
    auto log = open(ring_config(), &report);
    EXPECT_FALSE(std::filesystem::exists(ring));
    EXPECT_EQ(read_all(*log), expected);
    EXPECT_EQ(log->size_bytes(), expected.size());
    bool restored = false;
    for (auto& n : report.notes) restored |= n.find("restored") != std::string::npos;
    EXPECT_EQ(restored, variant == 2);  // copied, and cut by the scan
    if (variant == 2) {
      EXPECT_GT(report.truncated_bytes, 0u);
    }
    ASSERT_TRUE(log->close());
  }
}

}  // namespace
}  // namespace spate::storage
