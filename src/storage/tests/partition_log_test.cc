#include "storage/partition_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "storage/errc.h"
#include "storage/storage_metrics.h"
#include "support/batch_builder.h"
#include "support/crash.h"
#include "support/page_cache.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

const timestamp_ms now(1'700'000'000'000);

class partition_log_test : public ::testing::Test {
 protected:
  std::unique_ptr<partition_log> open(log_config cfg = {}, log_recovery_report* report = nullptr) {
    auto log = partition_log::open(_fs, _dir / "t-0", cfg, _flusher, report);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }
  append_result append(partition_log& log, byte_buffer b) {
    auto r = log.append(b, now);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : append_result{};
  }
  // Appends `b` and adds the bytes the log stored (base offset set) to `expected`.
  void append_expecting(partition_log& log, byte_buffer b, byte_buffer& expected) {
    auto a = append(log, b);
    set_base_offset(b, a.base_offset);
    append_bytes(expected, b);
  }
  static result<append_result> try_append(partition_log& log, byte_buffer b) {
    return log.append(b, now);
  }
  // The bytes a read returns.
  byte_buffer read_bytes(partition_log& log, offset from, uint64_t max = 1 << 20) {
    auto r = log.read(from, max);
    EXPECT_TRUE(r) << r.error().message();
    byte_buffer out(r->slice.size);
    if (r->slice.size) {
      auto n = r->slice.file->read_at(r->slice.position, out);
      EXPECT_TRUE(n && *n == out.size());
    }
    return out;
  }
  // The base offsets of the batches in `bytes`.
  static std::vector<int64_t> bases(bytes_view bytes) {
    std::vector<int64_t> out;
    for (size_t p = 0; p + 61 <= bytes.size();) {
      auto h = batch_header::parse(bytes.subspan(p));
      out.push_back(h.base_offset.value);
      p += h.total_size();
    }
    return out;
  }

  test::temp_dir _dir;
  io::posix_filesystem _fs;
  flusher _flusher;
};

TEST_F(partition_log_test, assigns_consecutive_offsets_and_reads_back_identical_bytes) {
  auto log = open();
  auto b1 = test::make_batch(3, 100);
  auto b2 = test::make_batch(2, 50);
  auto a1 = append(*log, b1);
  auto a2 = append(*log, b2);
  EXPECT_EQ(a1.base_offset, offset(0));
  EXPECT_EQ(a1.last_offset, offset(2));
  EXPECT_EQ(a2.base_offset, offset(3));
  EXPECT_EQ(log->log_end(), offset(5));
  // Stored as sent, apart from the base offset the log assigned (b1/b2 were rewritten in
  // place, so they now hold it too).
  auto all = read_bytes(*log, offset(0));
  byte_buffer expected = b1;
  append_bytes(expected, b2);
  set_base_offset(mutable_bytes(expected).subspan(b1.size()), offset(3));
  EXPECT_EQ(all, expected);
  // A read from the middle of a batch starts at that batch.
  EXPECT_EQ(bases(read_bytes(*log, offset(4))), std::vector<int64_t>{3});
  // At the end: empty. Past it: out of range.
  EXPECT_EQ(read_bytes(*log, offset(5)).size(), 0u);
  auto past = log->read(offset(6), 100);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, make_error_code(errc::offset_out_of_range));
}

TEST_F(partition_log_test, read_returns_whole_batches_and_at_least_one) {
  auto log = open();
  for (int i = 0; i < 5; ++i) append(*log, test::make_batch(1, 1000));
  auto one = read_bytes(*log, offset(0), 10);  // smaller than one batch
  EXPECT_EQ(bases(one), std::vector<int64_t>{0});
  auto three = read_bytes(*log, offset(1), 3 * one.size() + 10);
  EXPECT_EQ(bases(three), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(partition_log_test, rejected_batch_writes_nothing) {
  auto log = open();
  append(*log, test::make_batch(1, 10));
  auto bad = test::make_batch(2, 10);
  bad.back() ^= 1;  // CRC now wrong
  auto r = log->append(bad, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::corrupt_batch));
  EXPECT_EQ(log->log_end(), offset(1));
  EXPECT_EQ(bases(read_bytes(*log, offset(0))), std::vector<int64_t>{0});
}

TEST_F(partition_log_test, rolls_by_size_and_reads_across_segments) {
  log_config cfg;
  cfg.segment_bytes = 4096;
  auto log = open(cfg);
  for (int i = 0; i < 40; ++i) append(*log, test::make_batch(2, 400));
  EXPECT_GT(log->segment_count(), 5u);
  for (int64_t o = 0; o < 80; ++o) {
    auto got = bases(read_bytes(*log, offset(o), 1));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], o - o % 2);
  }
}

// segment.ms, Kafka's rule: a batch whose timestamp is more than segment.ms past the active
// segment's first batch starts a new segment; one exactly segment.ms past does not, nor does an
// older one (timestamps need not ascend). Batches without timestamps use the segment's age.
TEST_F(partition_log_test, rolls_by_age_of_the_segments_first_timestamp) {
  log_config cfg;
  cfg.segment_ms = 1000;
  auto log = open(cfg);
  auto at = [](int64_t ts) { return test::batch_builder().add("k", "v", ts).build(); };
  append(*log, at(5000));
  append(*log, at(6000));  // exactly segment.ms later: stays
  append(*log, at(4000));  // older than the first: stays
  EXPECT_EQ(log->segment_count(), 1u);
  append(*log, at(6001));  // past segment.ms: offset 3 opens a new segment
  ASSERT_EQ(log->segment_count(), 2u);
  append(*log, at(7001));  // measured from the new segment's first batch (6001): stays
  EXPECT_EQ(log->segment_count(), 2u);
  append(*log, at(7002));
  EXPECT_EQ(log->segment_count(), 3u);
  for (int64_t o = 0; o < 6; ++o) {
    EXPECT_EQ(bases(read_bytes(*log, offset(o), 1)), std::vector<int64_t>{o});
  }
}

TEST_F(partition_log_test, clean_reopen_skips_the_scan_and_keeps_everything) {
  log_config cfg;
  cfg.segment_bytes = 8192;
  byte_buffer all;
  {
    auto log = open(cfg);
    for (int i = 0; i < 30; ++i) append(*log, test::make_batch(3, 300));
    ASSERT_TRUE(log->close());
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_TRUE(report.clean_shutdown);
  EXPECT_EQ(report.bytes_scanned, 0u);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(log->log_end(), offset(90));
  EXPECT_EQ(bases(read_bytes(*log, offset(45), 1)), std::vector<int64_t>{45});
  EXPECT_EQ(append(*log, test::make_batch(1, 1)).base_offset, offset(90));
}

TEST_F(partition_log_test, unclean_reopen_scans_only_the_active_segment_and_cuts_a_torn_tail) {
  log_config cfg;
  cfg.segment_bytes = 8192;
  std::string active_path;
  uint64_t active_size = 0;
  {
    auto log = open(cfg);
    for (int i = 0; i < 30; ++i) append(*log, test::make_batch(3, 300));
    ASSERT_TRUE(log->flush());
    active_path = _dir / ("t-0/" + segment_file_name(offset(log->log_end() - 3), ".log"));
    // Simulate a crash: no close, and a torn half-batch at the end of the active segment.
    auto segs = std::filesystem::directory_iterator(_dir / "t-0");
    std::string last;
    for (auto& e : segs) {
      if (e.path().extension() == ".log" && e.path().string() > last) last = e.path().string();
    }
    active_path = last;
    auto torn = test::make_batch(5, 100);
    auto f = _fs.open(active_path, io::open_mode::read_write);
    ASSERT_TRUE(f);
    active_size = *(*f)->size();
    ASSERT_TRUE((*f)->write_at(active_size, bytes_view(torn).first(torn.size() / 2)));
    test::crash(log);  // skip close(), as a crash would
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_FALSE(report.clean_shutdown);
  EXPECT_GT(report.truncated_bytes, 0u);
  EXPECT_LE(report.bytes_scanned, 8192u + report.truncated_bytes);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_EQ(log->log_end(), offset(90));
  EXPECT_EQ(std::filesystem::file_size(active_path), active_size);
  EXPECT_EQ(append(*log, test::make_batch(1, 1)).base_offset, offset(90));
}

// A batch of `n` records from idempotent producer `pid`, sequences from `seq`.
byte_buffer idempotent_batch(int64_t pid, int16_t epoch, int32_t seq, int n = 2) {
  test::batch_builder b;
  b.producer(pid, epoch, seq);
  for (int i = 0; i < n; ++i)
    b.add("k", "value-" + std::to_string(seq + i) + std::string(100, 'x'));
  return b.build();
}

errc storage_code(const error& e) {
  return static_cast<errc>(e.code.value());
}

// append_all answers each batch as append() would one by one: a rejected batch gets its own
// error and takes no offset; a second batch of the same idempotent producer in one call is
// checked against the first (so continues its sequence) and a repeat of it is a duplicate;
// and a segment roll inside the call splits the write but not the offsets.
TEST_F(partition_log_test, append_all_answers_each_batch_as_append_would) {
  log_config cfg;
  cfg.segment_bytes = 1500;
  auto log = open(cfg);
  auto bad = test::make_batch(2, 10);
  bad[bad.size() - 5] ^= 0xff;  // a value byte: CRC mismatch
  std::vector<byte_buffer> batches = {test::make_batch(2, 100),  bad,
                                      idempotent_batch(7, 0, 0), idempotent_batch(7, 0, 2),
                                      idempotent_batch(7, 0, 2), idempotent_batch(7, 0, 9),
                                      test::make_batch(4, 300),  test::make_batch(4, 300),
                                      test::make_batch(1, 10)};
  std::vector<mutable_bytes> views(batches.begin(), batches.end());
  auto r = log->append_all(views, now);
  ASSERT_EQ(r.size(), batches.size());
  ASSERT_TRUE(r[0]);
  EXPECT_EQ(r[0]->base_offset, offset(0));
  ASSERT_FALSE(r[1]);
  EXPECT_EQ(storage_code(r[1].error()), errc::corrupt_batch);
  ASSERT_TRUE(r[2] && r[3] && r[4]);
  EXPECT_EQ(r[2]->base_offset, offset(2));
  EXPECT_EQ(r[3]->base_offset, offset(4));
  EXPECT_FALSE(r[3]->duplicate);
  EXPECT_TRUE(r[4]->duplicate);
  EXPECT_EQ(r[4]->base_offset, offset(4));
  ASSERT_FALSE(r[5]);  // a sequence gap
  ASSERT_TRUE(r[6] && r[7] && r[8]);
  EXPECT_EQ(r[6]->base_offset, offset(6));
  EXPECT_EQ(r[7]->base_offset, offset(10));
  EXPECT_EQ(r[8]->base_offset, offset(14));
  EXPECT_EQ(log->log_end(), offset(15));
  EXPECT_GT(log->segment_count(), 1u);  // 1500-byte segments: the call rolled
  // Every batch readable at its offset, in order, across the segments.
  std::vector<int64_t> seen;
  for (offset at(0); at < log->log_end();) {
    auto bytes = read_bytes(*log, at);
    ASSERT_FALSE(bytes.empty());
    for (size_t p = 0; p + 61 <= bytes.size();) {
      auto h = batch_header::parse(bytes_view(bytes).subspan(p));
      seen.push_back(h.base_offset.value);
      at = h.next_offset();
      p += h.total_size();
    }
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 2, 4, 6, 10, 14}));
  // And as stored after a clean reopen.
  EXPECT_TRUE(log->close());
  log.reset();
  auto reopened = open(cfg);
  EXPECT_EQ(reopened->log_end(), offset(15));
  auto dup = try_append(*reopened, idempotent_batch(7, 0, 2));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
}

TEST_F(partition_log_test, idempotent_retry_is_answered_with_the_original_offsets) {
  auto log = open();
  append(*log, test::make_batch(3, 10));  // a plain producer first: offsets 0..2
  auto first = append(*log, idempotent_batch(42, 0, 0));
  auto second = append(*log, idempotent_batch(42, 0, 2));
  EXPECT_EQ(first.base_offset, offset(3));
  EXPECT_EQ(second.base_offset, offset(5));
  uint64_t size = log->size_bytes();
  for (auto [seq, base] : {std::pair{0, 3}, std::pair{2, 5}}) {
    auto again = try_append(*log, idempotent_batch(42, 0, seq));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->base_offset, offset(base));
    EXPECT_EQ(again->last_offset, offset(base + 1));
  }
  EXPECT_EQ(log->size_bytes(), size);  // nothing written
  EXPECT_EQ(log->log_end(), offset(7));

  auto gap = try_append(*log, idempotent_batch(42, 0, 5));
  ASSERT_FALSE(gap);
  EXPECT_EQ(storage_code(gap.error()), errc::out_of_order_sequence);
  auto fenced = try_append(*log, idempotent_batch(42, -1 + 0, 4));
  ASSERT_FALSE(fenced);  // epoch -1 with a producer id is malformed
  EXPECT_EQ(log->size_bytes(), size);
  EXPECT_FALSE(append(*log, idempotent_batch(42, 0, 4)).duplicate);
  EXPECT_EQ(log->log_end(), offset(9));
}

TEST_F(partition_log_test, producer_state_survives_clean_and_unclean_restarts) {
  log_config cfg;
  cfg.segment_bytes = 2048;  // several rolls, so snapshots are written at each
  int32_t seq = 0;
  {
    auto log = open(cfg);
    for (int i = 0; i < 20; ++i, seq += 2) append(*log, idempotent_batch(1, 0, seq));
    ASSERT_GT(log->segment_count(), 2u);
    ASSERT_TRUE(log->close());
  }
  {
    log_recovery_report report;
    auto log = open(cfg, &report);
    EXPECT_EQ(report.producers, 1u);
    EXPECT_EQ(report.producer_batches_replayed, 0u);  // the close snapshot is at the end
    auto dup = try_append(*log, idempotent_batch(1, 0, seq - 2));
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->base_offset, offset(seq - 2));
    auto gap = try_append(*log, idempotent_batch(1, 0, seq + 2));
    ASSERT_FALSE(gap);
    EXPECT_EQ(storage_code(gap.error()), errc::out_of_order_sequence);
    for (int i = 0; i < 3; ++i, seq += 2) append(*log, idempotent_batch(1, 0, seq));
    ASSERT_TRUE(log->flush());
    test::crash(log);  // no close: the state after the last roll's snapshot is replayed
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_FALSE(report.clean_shutdown);
  EXPECT_GT(report.producer_batches_replayed, 0u);
  auto dup = try_append(*log, idempotent_batch(1, 0, seq - 2));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->base_offset, offset(seq - 2));
  EXPECT_FALSE(try_append(*log, idempotent_batch(1, 0, seq + 2)));
  EXPECT_EQ(append(*log, idempotent_batch(1, 0, seq)).base_offset, offset(seq));
  // At most two snapshots are kept.
  size_t snapshots = 0;
  for (auto& e : std::filesystem::directory_iterator(_dir / "t-0")) {
    if (e.path().extension() == ".snapshot") ++snapshots;
  }
  EXPECT_LE(snapshots, 2u);
}

TEST_F(partition_log_test, corrupt_or_missing_snapshots_fall_back_to_replaying_the_log) {
  log_config cfg;
  cfg.segment_bytes = 2048;
  int32_t seq = 0;
  {
    auto log = open(cfg);
    for (int i = 0; i < 20; ++i, seq += 2) append(*log, idempotent_batch(7, 0, seq));
    ASSERT_TRUE(log->close());
  }
  for (auto& e : std::filesystem::directory_iterator(_dir / "t-0")) {
    if (e.path().extension() != ".snapshot") continue;
    auto f = _fs.open(e.path().string(), io::open_mode::read_write);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(10, as_bytes("junk")));
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  ASSERT_GT(log->segment_count(), 3u);
  // Without a usable snapshot only the last two segments are replayed (bounded start-up).
  EXPECT_GT(report.producer_batches_replayed, 0u);
  EXPECT_LT(report.producer_batches_replayed, 20u);
  auto dup = try_append(*log, idempotent_batch(7, 0, seq - 4));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(append(*log, idempotent_batch(7, 0, seq)).base_offset, offset(seq));
}

TEST_F(partition_log_test, delete_records_forgets_producers_wholly_below_the_start) {
  auto log = open();
  append(*log, idempotent_batch(1, 0, 0));  // offsets 0..1
  append(*log, idempotent_batch(2, 0, 0));  // offsets 2..3
  ASSERT_TRUE(log->delete_records(offset(2)));
  EXPECT_EQ(log->producers().entries().count(1), 0u);
  // Its state is gone, so it may go on from any sequence, as in Kafka.
  EXPECT_FALSE(append(*log, idempotent_batch(1, 0, 10)).duplicate);
  EXPECT_FALSE(try_append(*log, idempotent_batch(2, 0, 10)));
}

TEST_F(partition_log_test, corrupt_closed_index_is_rebuilt_from_the_log) {
  log_config cfg;
  cfg.segment_bytes = 4096;
  cfg.index_interval_bytes = 512;
  {
    auto log = open(cfg);
    for (int i = 0; i < 40; ++i) append(*log, test::make_batch(1, 300));
    ASSERT_TRUE(log->close());
  }
  std::string index = _dir / ("t-0/" + segment_file_name(offset(0), ".index"));
  {
    auto f = _fs.open(index, io::open_mode::read_write);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(50, as_bytes("garbage")));
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_EQ(report.indexes_rebuilt, 1u);
  for (int64_t o = 0; o < 40; ++o) {
    EXPECT_EQ(bases(read_bytes(*log, offset(o), 1)), std::vector<int64_t>{o});
  }
}

TEST_F(partition_log_test, offset_for_timestamp_finds_first_record_at_or_after) {
  log_config cfg;
  cfg.segment_bytes = 2048;
  cfg.index_interval_bytes = 256;
  auto log = open(cfg);
  // Offsets 0..99, timestamps 1000, 1010, ... except an out-of-order dip at offset 50.
  for (int i = 0; i < 100; ++i) {
    int64_t ts = i == 50 ? 900 : 1000 + 10 * i;
    append(*log, test::batch_builder().add("k", std::string(100, 'x'), ts).build());
  }
  auto at = [&](int64_t t) {
    auto r = log->offset_for_timestamp(timestamp_ms(t));
    EXPECT_TRUE(r);
    return *r ? (*r)->off.value : -1;
  };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(1000), 0);
  EXPECT_EQ(at(1001), 1);
  EXPECT_EQ(at(1250), 25);
  EXPECT_EQ(at(1495), 51);  // offset 50's record is older
  EXPECT_EQ(at(1990), 99);
  EXPECT_EQ(at(1991), -1);
  // Within one batch, the exact record.
  append(*log, test::batch_builder().add("a", "1", 5000).add("b", "2", 6000).build());
  EXPECT_EQ(at(5500), 101);
}

// ListOffsets answered with the requested timestamp; Kafka answers with the found record's.
TEST_F(partition_log_test, offset_for_timestamp_reports_the_found_records_timestamp) {
  auto log = open(log_config{});
  append(*log, test::batch_builder().add("a", "1", 1000).add("b", "2", 2000).build());
  append(*log, test::batch_builder().add("c", "3", 3000).build());
  auto r = log->offset_for_timestamp(timestamp_ms(1500));
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->off, offset(1));
  EXPECT_EQ((*r)->timestamp, timestamp_ms(2000));
  r = log->offset_for_timestamp(timestamp_ms(2001));
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->off, offset(2));
  EXPECT_EQ((*r)->timestamp, timestamp_ms(3000));
}

// Compressed batches were answered with their base offset; Kafka decompresses and answers
// with the exact record, for every codec.
TEST_F(partition_log_test, offset_for_timestamp_looks_inside_compressed_batches) {
  log_config cfg;
  cfg.segment_bytes = 1024;
  cfg.index_interval_bytes = 128;
  auto log = open(cfg);
  // Batches of 10 records (one codec each, in turn) at timestamps 1000, 1010, ...
  for (int b = 0; b < 12; ++b) {
    test::batch_builder bb;
    bb.codec(b % 4 + 1);
    for (int i = 0; i < 10; ++i) {
      int n = b * 10 + i;
      bb.add("k" + std::to_string(n), std::string(20, 'v'), 1000 + 10 * n);
    }
    append(*log, bb.build());
  }
  EXPECT_GT(log->segment_count(), 1u);
  for (int n = 0; n < 120; ++n) {
    for (int64_t d : {-5, 0}) {
      auto r = log->offset_for_timestamp(timestamp_ms(1000 + 10 * n + d));
      ASSERT_TRUE(r && *r) << n;
      EXPECT_EQ((*r)->off, offset(n)) << "timestamp " << 1000 + 10 * n + d;
      EXPECT_EQ((*r)->timestamp, timestamp_ms(1000 + 10 * n));
    }
  }
  auto none = log->offset_for_timestamp(timestamp_ms(1000 + 10 * 119 + 1));
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(partition_log_test, delete_records_moves_log_start_and_survives_reopen) {
  log_config cfg;
  cfg.segment_bytes = 4096;
  {
    auto log = open(cfg);
    for (int i = 0; i < 40; ++i) append(*log, test::make_batch(1, 400));
    size_t before = log->segment_count();
    auto r = log->delete_records(offset(25));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, offset(25));
    EXPECT_LT(log->segment_count(), before);
    auto below = log->read(offset(24), 100);
    ASSERT_FALSE(below);
    EXPECT_EQ(below.error().code, make_error_code(errc::offset_out_of_range));
    EXPECT_FALSE(log->delete_records(offset(41)));
    test::crash(log);  // no clean close
  }
  auto log = open(cfg);
  EXPECT_EQ(log->log_start(), offset(25));
  EXPECT_EQ(log->log_end(), offset(40));
  EXPECT_EQ(bases(read_bytes(*log, offset(25), 1)), std::vector<int64_t>{25});
}

TEST_F(partition_log_test, retention_by_size_and_time_deletes_whole_old_segments) {
  log_config cfg;
  cfg.segment_bytes = 4096;
  cfg.retention_bytes = 10000;
  cfg.retention_ms = -1;
  auto log = open(cfg);
  for (int i = 0; i < 60; ++i) {
    append(*log, test::batch_builder().add("k", std::string(400, 'x'), 1000 + i).build());
  }
  uint64_t before = log->size_bytes();
  auto r = log->apply_retention(now);
  ASSERT_TRUE(r);
  EXPECT_GT(r->segments_deleted, 0u);
  EXPECT_LE(log->size_bytes(), 10000u + 4096u);
  EXPECT_GE(log->size_bytes(), 10000u - 4096u);
  EXPECT_EQ(before - log->size_bytes(), r->bytes_deleted);
  EXPECT_EQ(log->log_start(), r->log_start);
  EXPECT_GT(log->log_start(), offset(0));

  // Time: records with timestamps 1000..1059; retention 1 ms at "now" = 1050 keeps the
  // segments holding 1049 and later, and never the active one.
  log_config by_time = cfg;
  by_time.retention_bytes = -1;
  by_time.retention_ms = 1;
  ASSERT_TRUE(log->set_config(by_time));
  auto t = log->apply_retention(timestamp_ms(1050));
  ASSERT_TRUE(t);
  auto first = log->read(log->log_start(), 1);
  ASSERT_TRUE(first);
  auto rr = log->offset_for_timestamp(timestamp_ms(0));
  ASSERT_TRUE(rr && *rr);
  EXPECT_LE((*rr)->off, offset(49));
  auto all = log->apply_retention(timestamp_ms(1'000'000));
  ASSERT_TRUE(all);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_end(), offset(60));
}

TEST_F(partition_log_test, durable_completion_fires_after_sync_and_reports_disk) {
  auto log = open();
  auto a = append(*log, test::make_batch(2, 10));
  std::promise<std::pair<bool, durability>> done;
  log->when_durable(a.next_offset, [&](status s, durability d) { done.set_value({bool(s), d}); });
  auto [ok_, d] = done.get_future().get();
  EXPECT_TRUE(ok_);
  EXPECT_EQ(d, durability::disk);
  EXPECT_GE(_flusher.syncs(), 1u);
}

TEST_F(partition_log_test, os_policy_completes_at_once_in_page_cache) {
  log_config cfg;
  cfg.flush = flush_policy::os;
  auto log = open(cfg);
  auto a = append(*log, test::make_batch(1, 10));
  std::optional<durability> got;
  log->when_durable(a.next_offset, [&](status s, durability d) {
    EXPECT_TRUE(s);
    got = d;
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, durability::page_cache);
}

TEST_F(partition_log_test, interval_policy_syncs_on_the_timer) {
  log_config cfg;
  cfg.flush = flush_policy::interval;
  cfg.flush_interval_ms = 20;
  auto log = open(cfg);
  auto a = append(*log, test::make_batch(1, 10));
  std::promise<durability> done;
  log->when_durable(a.next_offset, [&](status s, durability d) {
    EXPECT_TRUE(s);
    done.set_value(d);
  });
  EXPECT_EQ(done.get_future().get(), durability::disk);
}

TEST_F(partition_log_test, group_commit_shares_syncs_among_concurrent_waiters) {
  auto log = open();
  std::atomic<int> completed{0};
  for (int i = 0; i < 200; ++i) {
    auto a = append(*log, test::make_batch(1, 100));
    log->when_durable(a.next_offset, [&](status s, durability) {
      EXPECT_TRUE(s);
      completed++;
    });
  }
  ASSERT_TRUE(log->flush());
  // flush() has synced everything; callbacks already taken by the flusher thread may still
  // be running there, so wait for them (bounded).
  for (int i = 0; i < 500 && completed.load() < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(completed.load(), 200);
  EXPECT_LT(_flusher.syncs(), 200u);
}

// Regression: recovery clamped a log start past the recovered end in memory only; the stale
// partition.meta then hid records appended after the restart.
TEST_F(partition_log_test, clamped_log_start_is_written_back) {
  {
    auto log = open();
    for (int i = 0; i < 6; ++i) append(*log, test::make_batch(2, 50));
    ASSERT_TRUE(log->delete_records(offset(10)));
    test::crash(log);
  }
  // Lose the tail below the new start, as an unsynced crash could.
  std::string seg = _dir / ("t-0/" + segment_file_name(offset(0), ".log"));
  auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size / 2);
  {
    log_recovery_report report;
    auto log = open({}, &report);
    EXPECT_EQ(log->log_start(), log->log_end());
    offset start = log->log_start();
    EXPECT_LT(start, offset(10));
    for (int i = 0; i < 4; ++i) append(*log, test::make_batch(2, 50));
    ASSERT_TRUE(log->close());
  }
  auto log = open();
  auto first = log->read(log->log_start(), 1);
  ASSERT_TRUE(first);
  EXPECT_LT(log->log_start(), offset(10));
  EXPECT_EQ(log->log_end(), log->log_start() + 8);
}

// --- Fault injection through the io seam -------------------------------------------------

class faulty_log_test : public partition_log_test {
 protected:
  std::unique_ptr<partition_log> open_faulty(log_config cfg = {}) {
    auto log = partition_log::open(_faulty, _dir / "t-0", cfg, _flusher);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }
  // Appends a batch, waits until it is durable (from disk), and adds its bytes as the log
  // stored them (base offset set) to `durable_bytes`.
  void append_durably(partition_log& log, byte_buffer b, byte_buffer& durable_bytes) {
    auto a = append(log, b);
    std::promise<void> synced;
    log.when_durable(a.next_offset, [&](status s, durability d) {
      EXPECT_TRUE(s);
      EXPECT_EQ(d, durability::disk);
      synced.set_value();
    });
    synced.get_future().get();
    set_base_offset(b, a.base_offset);
    append_bytes(durable_bytes, b);
  }
  io::fault_injecting_filesystem _faulty{_fs};
};

TEST_F(faulty_log_test, enospc_mid_batch_leaves_no_partial_write_and_log_recovers) {
  auto log = open_faulty();
  append(*log, test::make_batch(2, 100));
  uint64_t size = log->size_bytes();
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(50, ENOSPC);
  auto r = try_append(*log, test::make_batch(3, 100));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::no_space_on_device);
  EXPECT_EQ(log->size_bytes(), size);
  EXPECT_EQ(log->log_end(), offset(2));
  _faulty.clear_faults();
  // Space is back: appends continue at the next offset.
  EXPECT_EQ(append(*log, test::make_batch(1, 10)).base_offset, offset(2));
  EXPECT_EQ(bases(read_bytes(*log, offset(0))), (std::vector<int64_t>{0, 2}));
}

// append_all writes a turn's batches with one gathered write; a write torn inside its second
// batch fails every batch of the run (none is kept, whole or torn), reports the error to each
// of them, and leaves the offsets, the file and what a read returns as they were. The next
// run continues at the old log end, and a reopen after a power cut agrees.
TEST_F(faulty_log_test, torn_gathered_write_leaves_no_batch_of_its_run) {
  auto log = open_faulty();
  append(*log, test::make_batch(2, 100));
  uint64_t size = log->size_bytes();
  auto before = read_bytes(*log, offset(0));
  std::vector<byte_buffer> run = {test::make_batch(3, 100), test::make_batch(3, 100),
                                  test::make_batch(3, 100)};
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(run[0].size() + 40, ENOSPC);  // inside the second batch
  std::vector<mutable_bytes> views(run.begin(), run.end());
  auto results = log->append_all(views, now);
  ASSERT_EQ(results.size(), 3u);
  for (auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, std::errc::no_space_on_device);
  }
  EXPECT_EQ(log->size_bytes(), size);
  EXPECT_EQ(log->log_end(), offset(2));
  EXPECT_EQ(read_bytes(*log, offset(0)), before);
  EXPECT_FALSE(log->failure());
  _faulty.clear_faults();

  std::vector<byte_buffer> again = {test::make_batch(1, 10), test::make_batch(2, 10)};
  std::vector<mutable_bytes> again_views(again.begin(), again.end());
  auto ok_results = log->append_all(again_views, now);
  ASSERT_TRUE(ok_results[0] && ok_results[1]);
  EXPECT_EQ(ok_results[0]->base_offset, offset(2));
  EXPECT_EQ(ok_results[1]->base_offset, offset(3));
  EXPECT_EQ(ok_results[1]->next_offset, offset(5));
  EXPECT_EQ(bases(read_bytes(*log, offset(0))), (std::vector<int64_t>{0, 2, 3}));
  EXPECT_TRUE(log->close());
  log.reset();
  auto reopened = open();
  EXPECT_EQ(reopened->log_end(), offset(5));
  EXPECT_EQ(bases(read_bytes(*reopened, offset(0))), (std::vector<int64_t>{0, 2, 3}));
}

// A turn's run is written in pieces of at most max_run_bytes: large batches go one write each
// (small ones still share one, above). So a write torn inside the third of four 300 KB batches
// loses only the third and, as the disk stays full, the fourth; the first two are in the log.
TEST_F(faulty_log_test, large_batches_of_a_turn_are_written_in_pieces) {
  auto log = open_faulty();
  std::vector<byte_buffer> run;
  for (int i = 0; i < 4; ++i) run.push_back(test::make_batch(300, 1000));
  ASSERT_GT(run[0].size() + run[1].size(), partition_log::max_run_bytes);
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(run[0].size() + run[1].size() + 40, ENOSPC);
  std::vector<mutable_bytes> views(run.begin(), run.end());
  auto results = log->append_all(views, now);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0]) << results[0].error().message();
  ASSERT_TRUE(results[1]) << results[1].error().message();
  EXPECT_EQ(results[1]->base_offset, offset(300));
  for (size_t i : {2u, 3u}) {
    ASSERT_FALSE(results[i]);
    EXPECT_EQ(results[i].error().code, std::errc::no_space_on_device);
  }
  EXPECT_EQ(log->log_end(), offset(600));
  EXPECT_EQ(log->size_bytes(), run[0].size() + run[1].size());
  EXPECT_FALSE(log->failure());
  _faulty.clear_faults();
  EXPECT_EQ(bases(read_bytes(*log, offset(0), 4 << 20)), (std::vector<int64_t>{0, 300}));
  EXPECT_TRUE(log->close());
}

// A torn gathered write whose truncation also fails: the log fails, and every batch of the
// run, and every later append, gets an error.
TEST_F(faulty_log_test, torn_gathered_write_that_cannot_be_undone_fails_the_log) {
  auto log = open_faulty();
  append(*log, test::make_batch(2, 100));
  std::vector<byte_buffer> run = {test::make_batch(3, 100), test::make_batch(3, 100)};
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(run[0].size() + run[1].size() / 2, EIO);
  _faulty.fail_truncates(EIO);
  std::vector<mutable_bytes> views(run.begin(), run.end());
  auto results = log->append_all(views, now);
  ASSERT_FALSE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_TRUE(log->failure());
  auto later = try_append(*log, test::make_batch(1, 10));
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, make_error_code(errc::log_failed));
  _faulty.clear_faults();
}

TEST_F(faulty_log_test, snapshot_that_cannot_be_written_costs_a_replay_not_an_append) {
  log_config cfg;
  cfg.segment_bytes = 2048;
  int32_t seq = 0;
  {
    auto log = open_faulty(cfg);
    _faulty.set_path_filter(".snapshot");
    _faulty.fail_writes_after(10, ENOSPC);
    // Rolls happen, every snapshot fails: appends and close go on regardless.
    for (int i = 0; i < 20; ++i, seq += 2) append(*log, idempotent_batch(3, 0, seq));
    EXPECT_GT(log->segment_count(), 3u);
    EXPECT_TRUE(log->close());
    _faulty.clear_faults();
  }
  for (auto& e : std::filesystem::directory_iterator(_dir / "t-0")) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_TRUE(report.clean_shutdown);
  EXPECT_GT(report.producer_batches_replayed, 0u);  // rebuilt from the last two segments
  auto dup = try_append(*log, idempotent_batch(3, 0, seq - 2));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
}

TEST_F(partition_log_test, garbage_in_a_closed_segment_stops_the_replay_not_the_open) {
  log_config cfg;
  cfg.segment_bytes = 2048;
  int32_t seq = 0;
  {
    auto log = open(cfg);
    for (int i = 0; i < 20; ++i, seq += 2) append(*log, idempotent_batch(5, 0, seq));
    ASSERT_TRUE(log->close());
  }
  // No snapshots, and the second batch of the last closed segment says its length is -12
  // (a walk that trusted it would never move on).
  offset last_closed;
  for (auto& e : std::filesystem::directory_iterator(_dir / "t-0")) {
    if (e.path().extension() == ".snapshot") std::filesystem::remove(e.path());
  }
  {
    std::vector<offset> bases_found;
    for (auto& e : std::filesystem::directory_iterator(_dir / "t-0")) {
      if (e.path().extension() == ".log") {
        bases_found.push_back(offset(std::stoll(e.path().stem().string())));
      }
    }
    std::sort(bases_found.begin(), bases_found.end());
    ASSERT_GE(bases_found.size(), 3u);
    last_closed = bases_found[bases_found.size() - 2];
    auto f = _fs.open(_dir / ("t-0/" + segment_file_name(last_closed, ".log")),
                      io::open_mode::read_write);
    ASSERT_TRUE(f);
    uint8_t head[12];
    ASSERT_TRUE((*f)->read_at(0, head));
    uint64_t second = 12 + load_be<uint32_t>(head + 8);
    uint8_t bad[4];
    store_be<int32_t>(bad, -12);
    ASSERT_TRUE((*f)->write_at(second + 8, bad));
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  bool noted = false;
  for (auto& n : report.notes) noted |= n.find("replay stopped") != std::string::npos;
  EXPECT_TRUE(noted);
  // The active segment's batches were still replayed: the newest batch is a duplicate.
  auto dup = try_append(*log, idempotent_batch(5, 0, seq - 2));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
}

TEST_F(faulty_log_test, torn_write_that_cannot_be_undone_fails_the_log_but_keeps_reads) {
  auto log = open_faulty();
  append(*log, test::make_batch(2, 100));
  _faulty.set_path_filter(".log");
  _faulty.fail_writes_after(30, EIO);
  _faulty.fail_truncates(EIO);
  auto r = try_append(*log, test::make_batch(3, 100));
  ASSERT_FALSE(r);
  ASSERT_TRUE(log->failure());
  auto again = try_append(*log, test::make_batch(1, 10));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::log_failed));
  EXPECT_EQ(bases(read_bytes(*log, offset(0))), std::vector<int64_t>{0});
  _faulty.clear_faults();
  (void)log->close();
  log.reset();
  // Reopening recovers: the torn tail is cut, the acknowledged batch stays.
  log_recovery_report report;
  auto reopened = open({}, &report);
  EXPECT_EQ(report.truncated_bytes, 30u);
  EXPECT_EQ(reopened->log_end(), offset(2));
  EXPECT_EQ(append(*reopened, test::make_batch(1, 10)).base_offset, offset(2));
}

// A tailing reader one or more batches behind finds its batch and the sizes of the batches
// after it in memory (the segment keeps its last 16), not with a pread per header; older
// batches still come from the file. With reads failing, a read within the last 16 batches
// succeeds and one further back fails; the slices agree with a reopened log's, which has to
// read the file for every one of them.
TEST_F(faulty_log_test, reads_of_the_last_batches_need_no_file_reads) {
  std::vector<std::pair<offset, file_slice>> seen;
  {
    auto log = open_faulty();
    for (int i = 0; i < 40; ++i) append(*log, test::make_batch(1 + i % 3, 100 + 7 * i));
    offset end = log->log_end();
    _faulty.set_path_filter(".log");
    _faulty.fail_reads(EIO);
    // The 16th batch from the end starts at end - (its records and those after it).
    int64_t records_in_last_16 = 0;
    for (int i = 24; i < 40; ++i) records_in_last_16 += 1 + i % 3;
    offset oldest_recent(end.value - records_in_last_16);
    for (offset o = oldest_recent; o < end; o = offset(o.value + 1)) {
      auto r = log->read(o, 1 << 20);
      ASSERT_TRUE(r) << "offset " << o.value << ": " << r.error().message();
      ASSERT_GT(r->slice.size, 0u);
      seen.emplace_back(o, r->slice);
      // A budget that ends inside the third batch still gets whole batches only.
      auto part = log->read(o, 1);
      ASSERT_TRUE(part);
      EXPECT_LE(part->slice.size, r->slice.size);
    }
    auto older = log->read(offset(oldest_recent.value - 1), 1 << 20);
    ASSERT_FALSE(older);
    EXPECT_EQ(older.error().code, std::errc::io_error);
    _faulty.clear_faults();
    ASSERT_TRUE(log->close());
  }
  auto reopened = open();
  for (auto& [o, slice] : seen) {
    auto r = reopened->read(o, 1 << 20);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->slice.position, slice.position) << "offset " << o.value;
    EXPECT_EQ(r->slice.size, slice.size) << "offset " << o.value;
    // And the slice starts at the batch holding the offset.
    auto b = bases(read_bytes(*reopened, o));
    ASSERT_FALSE(b.empty());
    EXPECT_LE(b.front(), o.value);
  }
}

TEST_F(faulty_log_test, failed_fsync_fails_waiters_and_the_log) {
  auto log = open_faulty();
  _faulty.set_path_filter(".log");
  _faulty.fail_syncs(EIO, -1);
  auto a = append(*log, test::make_batch(1, 10));
  std::promise<status> done;
  log->when_durable(a.next_offset, [&](status s, durability) { done.set_value(s); });
  auto s = done.get_future().get();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::io_error);
  auto next = try_append(*log, test::make_batch(1, 10));
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, make_error_code(errc::log_failed));
  EXPECT_NE(next.error().message().find("fdatasync"), std::string::npos);
}

TEST_F(faulty_log_test, power_loss_keeps_everything_acknowledged_as_durable) {
  byte_buffer durable_bytes;
  {
    auto log = open_faulty();
    for (int i = 0; i < 10; ++i) append_durably(*log, test::make_batch(2, 200), durable_bytes);
    // Written but never synced: may be lost.
    ASSERT_TRUE(log->set_config([] {
      log_config c;
      c.flush = flush_policy::os;
      return c;
    }()));
    for (int i = 0; i < 5; ++i) append(*log, test::make_batch(2, 200));
    test::crash(log);
  }
  ASSERT_TRUE(_faulty.simulate_power_loss(123));  // and a torn tail of 123 bytes
  log_recovery_report report;
  auto log = open({}, &report);
  EXPECT_EQ(report.truncated_bytes, 123u);
  EXPECT_EQ(log->log_end(), offset(20));
  EXPECT_EQ(read_bytes(*log, offset(0)), durable_bytes);
}

// Zeros at the end of the active segment (what a crash leaves of space zero-filled ahead, or
// a size extended without its data) are removed and reported apart from cut data.
TEST_F(partition_log_test, a_zero_tail_is_removed_and_reported_apart_from_cut_data) {
  std::string path = _dir / ("t-0/" + segment_file_name(offset(0), ".log"));
  {
    auto log = open();
    for (int i = 0; i < 3; ++i) append(*log, test::make_batch(2, 100));
    test::crash(log);
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    std::string zeros(5000, '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  log_recovery_report report;
  auto log = open({}, &report);
  EXPECT_EQ(report.zero_tail_bytes, 5000u);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(log->log_end(), offset(6));
  EXPECT_EQ(std::filesystem::file_size(path), log->size_bytes());
  EXPECT_EQ(append(*log, test::make_batch(1, 10)).base_offset, offset(6));
}

TEST_F(partition_log_test, zeros_after_other_bytes_are_cut_data) {
  std::string path = _dir / ("t-0/" + segment_file_name(offset(0), ".log"));
  {
    auto log = open();
    append(*log, test::make_batch(2, 100));
    test::crash(log);
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    std::string tail(10, '\xff');
    tail += std::string(1000, '\0');
    out.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  }
  log_recovery_report report;
  auto log = open({}, &report);
  EXPECT_EQ(report.truncated_bytes, 1010u);
  EXPECT_EQ(report.zero_tail_bytes, 0u);
  EXPECT_EQ(log->log_end(), offset(2));
}

log_config preallocating(uint64_t bytes) {
  log_config c;
  c.flush = flush_policy::always;
  c.preallocate_bytes = bytes;
  return c;
}

// Every batch of the log, across segments (a read stops at a segment's end).
byte_buffer read_all(partition_log& log) {
  byte_buffer out;
  offset from(0);
  while (from < log.log_end()) {
    auto r = log.read(from, 1 << 30);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || r->slice.size == 0) break;
    byte_buffer part(r->slice.size);
    auto n = r->slice.file->read_at(r->slice.position, part);
    EXPECT_TRUE(n && *n == part.size());
    offset before = from;
    for (size_t p = 0; p + 61 <= part.size();) {
      auto h = batch_header::parse(bytes_view(part).subspan(p));
      if (h.batch_length <= 0 || h.next_offset() <= from) {
        ADD_FAILURE() << "not a batch at position " << p << " of a read from " << before.value;
        return out;
      }
      from = h.next_offset();
      p += h.total_size();
    }
    append_bytes(out, part);
  }
  return out;
}

uint64_t log_files_size(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") total += e.file_size();
  }
  return total;
}

// A preallocating log (64 KiB chunks) on the faulty filesystem, its faults limited to .log
// files, with one batch appended durably.
class preallocated_fault_test : public faulty_log_test {
 protected:
  static constexpr uint64_t chunk = 64 * 1024;
  log_config cfg = preallocating(chunk);
  std::filesystem::path dir = _dir / "t-0";
  byte_buffer durable_bytes;
  std::unique_ptr<partition_log> open_with_one_batch() {
    _faulty.set_path_filter(".log");
    auto log = open_faulty(cfg);
    append_durably(*log, test::make_batch(2, 1000), durable_bytes);
    return log;
  }
};

TEST_F(partition_log_test, preallocation_fills_ahead_and_roll_and_close_cut_back) {
  log_config cfg = preallocating(1 << 20);
  cfg.segment_bytes = 64 * 1024;
  byte_buffer expected;
  {
    auto log = open(cfg);
    append_expecting(*log, test::make_batch(2, 1000), expected);
    _flusher.zero_fill().drain();
    // Zeros lie ahead of the data in the active segment's file.
    EXPECT_GT(log_files_size(_dir / "t-0"), log->size_bytes() + (512 << 10));
    for (int i = 0; i < 100; ++i) {  // ~200 KB: three rolls
      auto more = test::make_batch(2, 1000);
      auto r = append(*log, more);
      set_base_offset(more, r.base_offset);
      append_bytes(expected, more);
    }
    ASSERT_TRUE(log->flush());
    EXPECT_EQ(read_all(*log), expected);
    ASSERT_TRUE(log->close());
    // Closed segments and the active one end at their data.
    EXPECT_EQ(log_files_size(_dir / "t-0"), expected.size());
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_TRUE(report.clean_shutdown);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(report.zero_tail_bytes, 0u);
  EXPECT_GT(report.segments, 3u);
  EXPECT_EQ(read_all(*log), expected);
}

// Regression (defect: every active segment was zero-filled at open and at each roll, so a
// broker with many idle partitions wrote preallocate_bytes of zeros for each at every start).
// Filling starts with a segment's first append; opening, reopening and rolling write none.
TEST_F(partition_log_test, preallocation_writes_no_zeros_until_the_first_append) {
  log_config cfg = preallocating(1 << 20);
  auto dir = _dir / "t-0";
  {
    auto log = open(cfg);
    _flusher.zero_fill().drain();
    EXPECT_EQ(log_files_size(dir), 0u);
    ASSERT_TRUE(log->close());
  }
  byte_buffer expected;
  {
    auto log = open(cfg);
    _flusher.zero_fill().drain();
    EXPECT_EQ(log_files_size(dir), 0u);
    for (int i = 0; i < 3; ++i) {
      append_expecting(*log, test::make_batch(2, 1000), expected);
    }
    // After the first append the filler works as before: about a chunk of zeros ahead.
    _flusher.zero_fill().drain();
    EXPECT_GT(log_files_size(dir), expected.size() + (512 << 10));
    ASSERT_TRUE(log->flush());
    test::crash(log);  // leaves the zeros
  }
  {
    // Recovery removes the zeros and the reopened log writes none.
    log_recovery_report report;
    auto log = open(cfg, &report);
    EXPECT_GT(report.zero_tail_bytes, 0u);
    EXPECT_EQ(report.truncated_bytes, 0u);
    _flusher.zero_fill().drain();
    EXPECT_EQ(log_files_size(dir), expected.size());
    // Nor does a roll to a new, empty segment.
    ASSERT_TRUE(log->roll());
    log->wait_for_rolls();
    _flusher.zero_fill().drain();
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(log_files_size(dir), expected.size());
    ASSERT_TRUE(log->close());
  }
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_TRUE(report.clean_shutdown);
  _flusher.zero_fill().drain();
  EXPECT_EQ(log_files_size(dir), expected.size());
  EXPECT_EQ(read_all(*log), expected);
  auto b = test::make_batch(1, 100);
  append(*log, b);
  _flusher.zero_fill().drain();
  EXPECT_GT(log_files_size(dir), expected.size() + b.size() + (512 << 10));
}

// Chunks far smaller than the appends' pace, so that the owner keeps catching up with the
// zero-filling: no zero may land on data, before or after a crash.
TEST_F(partition_log_test, appends_racing_the_zero_filling_keep_every_byte) {
  log_config cfg = preallocating(16 * 1024);
  byte_buffer expected;
  {
    auto log = open(cfg);
    for (int i = 0; i < 400; ++i) {
      append_expecting(*log, test::make_batch(1 + i % 3, 100 + static_cast<size_t>(i % 7) * 300),
                       expected);
      // Now and then let the filler catch up (a sync's wait, or its whole job), so that jobs
      // start both behind and ahead of the owner's writes.
      if (i % 10 == 9) {
        ASSERT_TRUE(log->flush());
      }
      if (i % 50 == 49) _flusher.zero_fill().drain();
    }
    ASSERT_TRUE(log->flush());
    EXPECT_EQ(read_all(*log), expected);
    test::crash(log);
  }
  _flusher.zero_fill().drain();  // the crashed log's last job, as if its thread had died
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(read_all(*log), expected);
  offset end = log->log_end();
  EXPECT_EQ(append(*log, test::make_batch(1, 10)).base_offset, end);
}

TEST_F(faulty_log_test, power_loss_with_preallocation_keeps_everything_durable) {
  byte_buffer durable_bytes;
  log_config cfg = preallocating(256 * 1024);
  {
    auto log = open_faulty(cfg);
    for (int i = 0; i < 20; ++i) append_durably(*log, test::make_batch(2, 2000), durable_bytes);
    test::crash(log);
  }
  _flusher.zero_fill().drain();
  ASSERT_TRUE(_faulty.simulate_power_loss(0));
  log_recovery_report report;
  auto log = open(cfg, &report);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(log->log_end(), offset(40));
  EXPECT_EQ(read_all(*log), durable_bytes);
  EXPECT_EQ(append(*log, test::make_batch(1, 10)).base_offset, offset(40));
}

// Regression (defect: a roll waited on the owner's thread for the zero-filler's write into the
// segment it closed). The filler's write is held in progress: the roll returns all the same,
// its work (on a flusher worker) cuts the closed file back once the write ends, and a crash
// while the write is held leaves a log that recovers every acknowledged batch.
TEST_F(preallocated_fault_test, a_roll_does_not_wait_for_a_zero_fill_write_in_progress) {
  auto log = open_with_one_batch();
  _flusher.zero_fill().drain();  // one chunk of zeros ahead, written and synced
  uint64_t first_zeros_end = log_files_size(dir);
  EXPECT_EQ(first_zeros_end, durable_bytes.size() + chunk);
  // The filler's next write (a whole chunk, far larger than any batch here) waits until
  // released. Appends stay below the zeros already there, so the owner never waits for it.
  _faulty.hold_writes(1, chunk / 2);
  while (durable_bytes.size() + chunk / 2 <= first_zeros_end) {
    append_durably(*log, test::make_batch(2, 1000), durable_bytes);
  }
  // Fewer than half a chunk of zeros lie ahead now, so that append posted the next job.
  ASSERT_LT(durable_bytes.size(), first_zeros_end);
  while (_faulty.held_writes() == 0) std::this_thread::yield();
  uint64_t closed_size = log->size_bytes();
  ASSERT_TRUE(log->roll());
  EXPECT_EQ(_faulty.held_writes(), 1);  // the roll returned while the zeros' write is held
  EXPECT_EQ(log->segment_count(), 2u);
  // The new segment takes appends; their durability waits for the roll's work, which waits
  // for the held write.
  auto b = test::make_batch(1, 100);
  auto a = append(*log, b);
  set_base_offset(b, a.base_offset);
  std::promise<void> acked;
  log->when_durable(a.next_offset, [&](status s, durability d) {
    EXPECT_TRUE(s);
    EXPECT_EQ(d, durability::disk);
    acked.set_value();
  });
  auto acked_future = acked.get_future();
  EXPECT_NE(acked_future.wait_for(std::chrono::seconds(0)), std::future_status::ready);

  // A crash now: the files as they are (the page cache survives a process crash).
  std::filesystem::path copy = _dir / "crashed";
  std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
  {
    log_recovery_report report;
    auto recovered = partition_log::open(_fs, copy.string(), cfg, _flusher, &report);
    ASSERT_TRUE(recovered) << recovered.error().message();
    // The closed segment still had its first chunk's zeros: removed as a zero tail.
    EXPECT_EQ(report.zero_tail_bytes, first_zeros_end - closed_size);
    EXPECT_EQ(report.truncated_bytes, 0u);
    byte_buffer all = read_all(**recovered);
    ASSERT_EQ(all.size(), durable_bytes.size() + b.size());
    EXPECT_EQ(byte_buffer(all.begin(), all.begin() + static_cast<ptrdiff_t>(durable_bytes.size())),
              durable_bytes);
    EXPECT_EQ(log_files_size(copy), all.size());
    ASSERT_TRUE((*recovered)->close());
  }

  _faulty.release_writes();
  acked_future.get();
  log->wait_for_rolls();
  _flusher.zero_fill().drain();
  // The closed segment ends at its data; the new one holds only its batch so far, or zeros
  // after it too (its own fill began with that append).
  EXPECT_EQ(std::filesystem::file_size(dir / segment_file_name(offset(0), ".log")), closed_size);
  byte_buffer expected = durable_bytes;
  append_bytes(expected, b);
  EXPECT_EQ(read_all(*log), expected);
  ASSERT_TRUE(log->close());
  EXPECT_EQ(log_files_size(dir), expected.size());
  log_recovery_report report;
  auto reopened = open(cfg, &report);
  EXPECT_TRUE(report.clean_shutdown);
  EXPECT_EQ(report.zero_tail_bytes, 0u);
  EXPECT_EQ(read_all(*reopened), expected);
}

// The roll's work cannot cut the closed segment back: the zeros stay, the segment gets no
// index, and the next open scans it and removes them; nothing acknowledged is lost.
TEST_F(preallocated_fault_test, a_roll_whose_cut_fails_leaves_the_zeros_to_recovery) {
  auto log = open_with_one_batch();
  _flusher.zero_fill().drain();
  uint64_t zeros = log_files_size(dir) - durable_bytes.size();
  ASSERT_EQ(zeros, chunk);
  _faulty.fail_truncates(EIO);
  ASSERT_TRUE(log->roll());
  log->wait_for_rolls();
  EXPECT_FALSE(std::filesystem::exists(dir / segment_file_name(offset(0), ".index")));
  EXPECT_EQ(std::filesystem::file_size(dir / segment_file_name(offset(0), ".log")),
            durable_bytes.size() + zeros);
  append_durably(*log, test::make_batch(1, 100), durable_bytes);  // the roll's work succeeded
  EXPECT_FALSE(log->failure());
  _faulty.clear_faults();
  ASSERT_TRUE(log->close());
  log.reset();
  log_recovery_report report;
  auto reopened = open(cfg, &report);
  EXPECT_EQ(report.zero_tail_bytes, zeros);
  EXPECT_EQ(report.truncated_bytes, 0u);
  EXPECT_EQ(read_all(*reopened), durable_bytes);
  EXPECT_EQ(log_files_size(dir), durable_bytes.size());
}

// --- Blocks reserved ahead of buffered appends (segment::set_reserve_ahead) ---------------

log_config buffered(flush_policy p, uint64_t segment_bytes = 1ull << 30) {
  log_config c;
  c.flush = p;
  c.segment_bytes = segment_bytes;
  return c;
}

// Disk space a file holds (st_blocks), which a reservation past its size shows.
uint64_t allocated_bytes(const std::filesystem::path& file) {
  struct stat st {};
  EXPECT_EQ(::stat(file.c_str(), &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// `n` bytes rounded up to whole blocks of the file system `file` is on.
uint64_t round_to_block(const std::filesystem::path& file, uint64_t n) {
  struct stat st {};
  EXPECT_EQ(::stat(file.c_str(), &st), 0);
  auto block = static_cast<uint64_t>(st.st_blksize);
  return (n + block - 1) / block * block;
}

// Whether `file` holds no reservation past its data: less than the smallest window beyond
// its size in blocks (the file system may count a block of extent tree too).
bool holds_no_reservation(const std::filesystem::path& file) {
  return allocated_bytes(file) <
         round_to_block(file, std::filesystem::file_size(file)) + segment::reserve_window_min;
}

std::vector<std::filesystem::path> log_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Under `os` the active segment holds blocks reserved past its data, while its size stays the
// data's; a roll frees them from the closed segment, and so does a clean close from the
// active one. On a real file system: the test needs fallocate, so it skips where there is none.
TEST_F(partition_log_test, buffered_appends_reserve_blocks_ahead_and_free_them_at_roll_and_close) {
  uint64_t failures = storage_metrics::get().reserve_failures.value();
  auto dir = _dir / "t-0";
  byte_buffer expected;
  {
    auto log = open(buffered(flush_policy::os));
    for (int i = 0; i < 40; ++i) {
      append_expecting(*log, test::make_batch(4, 1000), expected);
    }
    if (storage_metrics::get().reserve_failures.value() != failures) {
      GTEST_SKIP() << "no fallocate on the test folder's file system";
    }
    auto files = log_files(dir);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(std::filesystem::file_size(files[0]), expected.size());
    // ~160 KB of data: at least half as much again reserved (the window grows with the
    // segment and is topped up when half of it is used).
    EXPECT_GE(allocated_bytes(files[0]), expected.size() + expected.size() / 2);
    EXPECT_EQ(read_all(*log), expected);

    ASSERT_TRUE(log->roll());
    log->wait_for_rolls();
    EXPECT_TRUE(holds_no_reservation(files[0]));
    append_expecting(*log, test::make_batch(2, 1000), expected);
    files = log_files(dir);
    ASSERT_EQ(files.size(), 2u);
    EXPECT_GE(allocated_bytes(files[1]), segment::reserve_window_min);
    ASSERT_TRUE(log->close());
    EXPECT_TRUE(holds_no_reservation(files[1]));
  }
  EXPECT_EQ(storage_metrics::get().reserve_failures.value(), failures);
  {
    // A crash leaves the active segment's reservation in place; the reopened log frees it at
    // that segment's roll even though it appended nothing to it.
    auto log = open(buffered(flush_policy::os));
    EXPECT_EQ(read_all(*log), expected);
    for (int i = 0; i < 40; ++i) append_expecting(*log, test::make_batch(4, 1000), expected);
    ASSERT_TRUE(log->flush());
    test::crash(log);
  }
  auto files = log_files(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_FALSE(holds_no_reservation(files[1]));
  auto log = open(buffered(flush_policy::os));
  EXPECT_EQ(read_all(*log), expected);
  ASSERT_TRUE(log->roll());
  log->wait_for_rolls();
  EXPECT_TRUE(holds_no_reservation(files[1]));
}

// All segments of the process together hold at most the reservation budget past their data,
// however many partitions want more: past it appends go without reserving, the gauge follows
// the total, and closing logs hands their share back so that others reserve again.
TEST_F(partition_log_test, reservations_stay_within_the_process_budget) {
  constexpr uint64_t budget = 2 << 20;
  // The budget is the process's: reservations of logs other tests left open count too.
  uint64_t base = segment::reserved_ahead_bytes();
  struct budget_guard {
    uint64_t old;
    ~budget_guard() { segment::set_reserve_budget(old); }
  } guard{segment::set_reserve_budget(base + budget)};
  uint64_t failures = storage_metrics::get().reserve_failures.value();
  double gauge_base = storage_metrics::get().reserved_ahead_bytes.value();
  std::vector<std::unique_ptr<partition_log>> logs;
  for (int p = 0; p < 4; ++p) {
    auto log = partition_log::open(_fs, _dir / ("t-" + std::to_string(p)),
                                   buffered(flush_policy::os), _flusher);
    ASSERT_TRUE(log) << log.error().message();
    logs.push_back(std::move(*log));
  }
  // Each log wants about its size again reserved ahead, and more at each top-up: past 2 MiB
  // in all before the loop ends (~0.78 MB of data each).
  auto batch = test::make_batch(16, 1000);
  for (int i = 0; i < 48; ++i) {
    for (auto& log : logs) {
      append(*log, batch);
      ASSERT_LE(segment::reserved_ahead_bytes() - base, budget);
    }
  }
  if (storage_metrics::get().reserve_failures.value() != failures) {
    GTEST_SKIP() << "no fallocate on the test folder's file system";
  }
  uint64_t held = segment::reserved_ahead_bytes() - base;
  EXPECT_GE(held, budget / 2);
  EXPECT_EQ(storage_metrics::get().reserved_ahead_bytes.value() - gauge_base,
            static_cast<double>(held));
  // The disk agrees: blocks past the data add up to what is counted, give or take a block
  // per file (the data's last block is part used; the file system may keep a block of extent
  // tree).
  uint64_t past_data = 0;
  uint64_t blocks = 0;
  for (int p = 0; p < 4; ++p) {
    auto file = log_files(_dir / ("t-" + std::to_string(p)))[0];
    uint64_t data = round_to_block(file, std::filesystem::file_size(file));
    past_data += allocated_bytes(file) > data ? allocated_bytes(file) - data : 0;
    blocks += round_to_block(file, 1);
  }
  EXPECT_LE(past_data, budget + 4 * segment::reserve_window_min);
  EXPECT_GE(past_data + blocks, held);

  // Closing three logs hands their share back; the fourth then reserves again.
  for (int p : {0, 2, 3}) ASSERT_TRUE(logs[p]->close());
  uint64_t after_close = segment::reserved_ahead_bytes() - base;
  auto file1 = log_files(_dir / "t-1")[0];
  for (int i = 0; i < 64; ++i) {
    append(*logs[1], batch);
    ASSERT_LE(segment::reserved_ahead_bytes() - base, budget);
  }
  EXPECT_GT(segment::reserved_ahead_bytes() - base, after_close);
  EXPECT_FALSE(holds_no_reservation(file1));
  ASSERT_TRUE(logs[1]->close());
  EXPECT_EQ(segment::reserved_ahead_bytes(), base);
  EXPECT_EQ(storage_metrics::get().reserved_ahead_bytes.value(), gauge_base);
  EXPECT_TRUE(holds_no_reservation(file1));
}

using test::on_tmpfs;
using test::resident_pages;

// Sets the process's page-cache budget for one test and restores it after.
struct cache_budget_guard {
  explicit cache_budget_guard(uint64_t bytes) : old(partition_log::set_page_cache_budget(bytes)) {}
  ~cache_budget_guard() { partition_log::set_page_cache_budget(old); }
  cache_budget_guard(const cache_budget_guard&) = delete;
  cache_budget_guard& operator=(const cache_budget_guard&) = delete;
  uint64_t old;
};

// How many pages of an evicted range may still be cached: now and then a page a job could not
// drop at that moment (held for an instant by a writeback that had just ended, or brought back
// by readahead), up to about one per job and a 128 KiB readahead (32 pages) in the runs seen,
// so 3 % of the range, against all of it when nothing is evicted.
uint64_t stragglers(uint64_t range_bytes) {
  return range_bytes / partition_log::cache_step(partition_log::cache_window()) + 2 +
         range_bytes / 4096 / 32;
}

// With a page-cache budget, what falls behind a log's window is written back and evicted,
// the closed segments' data included, while the window itself stays cached and every byte
// reads back as written. Without one (the library's default) nothing is evicted.
TEST_F(partition_log_test, page_cache_behind_the_window_is_written_back_and_evicted) {
  if (on_tmpfs(_dir.path())) GTEST_SKIP() << "tmpfs keeps its pages: nothing to evict";
  cache_budget_guard guard(0);
  auto& dropped = storage_metrics::get().page_cache_dropped_bytes;
  const uint64_t dropped_before = dropped.value();

  // The control: the same appends with no budget leave every page cached.
  auto plain =
      partition_log::open(_fs, _dir / "plain", buffered(flush_policy::os, 8 << 20), _flusher);
  ASSERT_TRUE(plain) << plain.error().message();
  auto batch = test::make_batch(16, 1000);  // ~16 KB
  for (int i = 0; i < 400; ++i) append(**plain, batch);
  _flusher.cache_trim().drain();
  auto plain_file = log_files(_dir / "plain")[0];
  uint64_t plain_size = std::filesystem::file_size(plain_file);
  EXPECT_EQ(resident_pages(plain_file, 0, plain_size), (plain_size + 4095) / 4096);
  EXPECT_EQ(dropped.value(), dropped_before);
  ASSERT_TRUE((*plain)->close());
  plain->reset();

  // 2 MiB for the one log alive: a 2 MiB window, handed over in steps of 1 MiB.
  // (The budget is shared by every log alive in the process, those other tests left too.)
  partition_log::set_page_cache_budget((partition_log::logs_open() + 1) * (2 << 20));
  ASSERT_EQ(partition_log::cache_step(2 << 20), uint64_t{1} << 20);
  auto log = open(buffered(flush_policy::os, 16 << 20));
  ASSERT_EQ(partition_log::cache_window(), uint64_t{2} << 20);
  byte_buffer expected;
  for (int i = 0; i < 2600; ++i) append_expecting(*log, test::make_batch(16, 1000), expected);
  // Written back, so that both passes of every range find it clean (cache_trim.h).
  ASSERT_TRUE(log->flush());
  _flusher.cache_trim().drain();
  auto files = log_files(_dir / "t-0");
  ASSERT_EQ(files.size(), 3u);  // ~43 MB in 16 MiB segments
  const uint64_t window = 2 << 20;
  const uint64_t step = partition_log::cache_step(window);
  // Closed segments: wholly behind the window (the active one holds more than a window).
  uint64_t active_size = std::filesystem::file_size(files[2]);
  ASSERT_GT(active_size, window + step + (4 << 20));
  for (size_t f = 0; f < 2; ++f) {
    uint64_t size = std::filesystem::file_size(files[f]);
    EXPECT_LE(resident_pages(files[f], 0, size), stragglers(size)) << files[f];
  }
  // The active segment: evicted up to within a step of the window (and of the 2 MiB a folio
  // straddling the last job's end may span), cached from the window on.
  const uint64_t evicted = (active_size - window - step) / (2 << 20) * (2 << 20);
  EXPECT_LE(resident_pages(files[2], 0, evicted), stragglers(evicted));
  uint64_t window_start = (active_size - window) / 4096 * 4096 + 4096;
  EXPECT_EQ(resident_pages(files[2], window_start, active_size),
            (active_size - window_start + 4095) / 4096);
  EXPECT_GE(dropped.value() - dropped_before, std::filesystem::file_size(files[0]) +
                                                  std::filesystem::file_size(files[1]) +
                                                  active_size - window - step);
  // Nothing about the data changed: it reads back from disk as it was written.
  byte_buffer all;
  for (offset at(0); at < log->log_end();) {
    auto part = read_bytes(*log, at, 4 << 20);
    ASSERT_FALSE(part.empty());
    append_bytes(all, part);
    uint64_t p = 0;
    int64_t last = 0;
    while (p < part.size()) {
      auto h = batch_header::parse(bytes_view(part).subspan(p));
      last = h.last_offset().value;
      p += h.total_size();
    }
    at = offset(last + 1);
  }
  EXPECT_EQ(all, expected);
}

// A consumer reading from behind the window keeps what it has still to read cached, up to
// max_reader_hold windows; what lies behind it is evicted as before.
TEST_F(partition_log_test, a_reader_behind_the_window_keeps_its_data_cached) {
  if (on_tmpfs(_dir.path())) GTEST_SKIP() << "tmpfs keeps its pages: nothing to evict";
  cache_budget_guard guard((partition_log::logs_open() + 1) * (2 << 20));
  const uint64_t window = 2 << 20;
  const uint64_t step = partition_log::cache_step(window);
  const uint64_t folio = 2 << 20;  // what a straddling folio may keep past a job's start
  auto log = open(buffered(flush_policy::os, 256 << 20));
  ASSERT_EQ(partition_log::cache_window(), window);
  auto batch = test::make_batch(16, 1000);
  const uint64_t batch_size = batch.size();
  for (int i = 0; i < 512; ++i) append(*log, batch);  // ~8 MiB
  auto file = log_files(_dir / "t-0")[0];

  // A consumer reads one fetch 64 batches (~1 MiB) behind the end, inside the window; then
  // the log grows by ~4 MiB, so that it is ~5 MiB behind.
  // It reads there again every 32 appends, so that it stays a recent reader however slow
  // the machine (the window forgets a reader after one to two seconds).
  auto r = log->read(offset(448 * 16), 1 << 20);
  ASSERT_TRUE(r) << r.error().message();
  const uint64_t reader_at = r->slice.position;
  ASSERT_EQ(reader_at, 448 * batch_size);
  for (int i = 0; i < 256; ++i) {
    append(*log, batch);
    if (i % 32 == 31) {
      ASSERT_TRUE(log->read(offset(448 * 16), 1 << 20));
    }
  }
  ASSERT_TRUE(log->flush());
  _flusher.cache_trim().drain();
  uint64_t size = std::filesystem::file_size(file);
  ASSERT_GT(size - reader_at, window + step);
  // What it has still to read stays; below it, evicted (up to a step, and a folio, short).
  uint64_t from_page = reader_at / 4096 * 4096;
  EXPECT_EQ(resident_pages(file, from_page, size), (size - from_page + 4095) / 4096);
  ASSERT_GT(reader_at, step + 2 * folio);
  const uint64_t below = (reader_at - step - folio) / folio * folio;
  EXPECT_LE(resident_pages(file, 0, below), stragglers(below));

  // A reader that stays put while the log grows 16 MiB holds back no more than
  // max_reader_hold windows: what lies further behind the end is evicted all the same.
  const uint64_t before = (size + folio - 1) / folio * folio;
  const offset stays_at(static_cast<int64_t>((768 - 64) * 16));
  for (int i = 0; i < 1024; ++i) {
    if (i % 32 == 0) {
      ASSERT_TRUE(log->read(stays_at, 1 << 20));
    }
    append(*log, batch);
  }
  ASSERT_TRUE(log->flush());
  _flusher.cache_trim().drain();
  size = std::filesystem::file_size(file);
  const uint64_t hold = window * partition_log::max_reader_hold;
  const uint64_t evicted_to = (size - hold - step - folio) / folio * folio;
  ASSERT_GT(evicted_to, before + folio);
  EXPECT_LE(resident_pages(file, before, evicted_to), stragglers(evicted_to - before));
}

// A consumer replaying history from below the window reads it from disk, and what it read is
// evicted a step behind it: the replay of a long log does not grow the cache without bound.
TEST_F(partition_log_test, a_replay_below_the_window_is_evicted_behind_the_reader) {
  if (on_tmpfs(_dir.path())) GTEST_SKIP() << "tmpfs keeps its pages: nothing to evict";
  cache_budget_guard guard(2 << 20);
  const uint64_t step = partition_log::cache_step(partition_log::cache_window());
  const uint64_t folio = 2 << 20;
  auto log = open(buffered(flush_policy::os, 16 << 20));
  auto batch = test::make_batch(16, 1000);
  for (int i = 0; i < 2300; ++i) append(*log, batch);  // ~38 MB: two closed segments
  ASSERT_TRUE(log->flush());
  _flusher.cache_trim().drain();
  auto files = log_files(_dir / "t-0");
  ASSERT_EQ(files.size(), 3u);
  const uint64_t first_size = std::filesystem::file_size(files[0]);
  ASSERT_LE(resident_pages(files[0], 0, first_size), stragglers(first_size));

  // The replay: 1 MiB fetches from offset 0, each read into memory (pread fills the cache,
  // as sendfile does), through the first segment and 4 MiB into the second.
  byte_buffer buf;
  offset at(0);
  uint64_t read_total = 0;
  while (read_total < first_size + (4 << 20)) {
    auto r = log->read(at, 1 << 20);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_GT(r->slice.size, 0u);
    buf.resize(r->slice.size);
    auto n = r->slice.file->read_at(r->slice.position, buf);
    ASSERT_TRUE(n && *n == buf.size());
    read_total += buf.size();
    int64_t last = 0;
    for (uint64_t p = 0; p < buf.size();) {
      auto h = batch_header::parse(bytes_view(buf).subspan(p));
      last = h.last_offset().value;
      p += h.total_size();
    }
    at = offset(last + 1);
  }
  _flusher.cache_trim().drain();
  // The first segment was read whole: evicted but for its last step (and a folio).
  ASSERT_GT(first_size, 2 * step + 2 * folio);
  const uint64_t replayed = (first_size - 2 * step - folio) / folio * folio;
  EXPECT_LE(resident_pages(files[0], 0, replayed), stragglers(replayed));
  // In the second, the part the reader is in stays cached.
  EXPECT_GT(resident_pages(files[1], 3 << 20, 4 << 20), 0u);
  // A reader that far back does not stretch the window: new data behind it goes as before.
  for (int i = 0; i < 640; ++i) {  // ~10 MiB
    if (i % 32 == 0) {
      ASSERT_TRUE(log->read(at, 1 << 20));
    }
    append(*log, batch);
  }
  ASSERT_TRUE(log->flush());
  _flusher.cache_trim().drain();
  const uint64_t active_size = std::filesystem::file_size(files[2]);
  ASSERT_EQ(log_files(_dir / "t-0").size(), 3u);
  const uint64_t window = partition_log::cache_window();
  const uint64_t evicted_to = (active_size - window - step - folio) / folio * folio;
  ASSERT_GE(evicted_to, 4 * folio);
  EXPECT_LE(resident_pages(files[2], 0, evicted_to), stragglers(evicted_to));
}

// A writeback that fails behind the page-cache window fails the log, as a failed fdatasync
// does: the trimmer's wait has taken the error, and Linux would not tell a later descriptor.
TEST_F(faulty_log_test, a_failed_writeback_behind_the_window_fails_the_log) {
  cache_budget_guard guard(1 << 20);
  _faulty.set_path_filter(".log");
  _faulty.fail_drop_cache(EIO);
  auto log = open_faulty(buffered(flush_policy::os));
  auto batch = test::make_batch(16, 1000);
  uint64_t failures = storage_metrics::get().page_cache_drop_failures.value();
  // ~4 MiB: past window and step. The log fails while this runs, on the trimmer's thread.
  for (int i = 0; i < 256; ++i) (void)try_append(*log, batch);
  _flusher.cache_trim().drain();
  EXPECT_GT(storage_metrics::get().page_cache_drop_failures.value(), failures);
  auto f = log->failure();
  ASSERT_TRUE(f);
  EXPECT_NE(f->message().find("page-cache window"), std::string::npos) << f->message();
  auto r = try_append(*log, batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::log_failed));
  // What was written stays readable.
  EXPECT_EQ(bases(read_bytes(*log, offset(0), 100000)).front(), 0);
}

// The reservation grows with the segment, so one fallocate covers many appends: 16 MiB in
// 16 KiB batches takes a handful of them (16 with today's window), not one per batch.
// `always` reserves nothing (an fdatasync that must also convert reserved extents is slower),
// and switching a log to it stops the reserving at once and gives back what was reserved.
TEST_F(faulty_log_test, reservations_are_few_and_only_under_buffered_policies) {
  _faulty.set_path_filter(".log");
  auto log = open_faulty(buffered(flush_policy::interval));
  auto batch = test::make_batch(16, 1000);
  for (int i = 0; i < 1000; ++i) append(*log, batch);
  uint64_t reserves = _faulty.reserves();
  EXPECT_GE(reserves, 2u);
  EXPECT_LE(reserves, 32u);
  auto file = log_files(_dir / "t-0")[0];
  bool reserved = !holds_no_reservation(file);
  ASSERT_TRUE(log->set_config(buffered(flush_policy::always)));
  if (reserved) {  // not reserved: no fallocate on this file system
    EXPECT_TRUE(holds_no_reservation(file));
  }
  for (int i = 0; i < 300; ++i) append(*log, batch);
  EXPECT_EQ(_faulty.reserves(), reserves);
  ASSERT_TRUE(log->roll());
  for (int i = 0; i < 300; ++i) append(*log, batch);
  EXPECT_EQ(_faulty.reserves(), reserves);
}

// A reservation that fails (a full disk, or a file system without fallocate) costs nothing
// but the reservation: the append goes on, every batch reads back, the segment stops trying,
// and the failure is counted.
TEST_F(faulty_log_test, a_failed_reservation_loses_no_append) {
  uint64_t failures = storage_metrics::get().reserve_failures.value();
  _faulty.set_path_filter(".log");
  _faulty.fail_reserves(ENOSPC);
  byte_buffer expected;
  {
    auto log = open_faulty(buffered(flush_policy::os));
    for (int i = 0; i < 100; ++i) {
      append_expecting(*log, test::make_batch(4, 1000), expected);
    }
    EXPECT_EQ(_faulty.reserves(), 1u);
    EXPECT_EQ(storage_metrics::get().reserve_failures.value(), failures + 1);
    EXPECT_EQ(read_all(*log), expected);
    ASSERT_TRUE(log->close());
  }
  _faulty.clear_faults();
  auto log = open_faulty(buffered(flush_policy::os));
  EXPECT_EQ(read_all(*log), expected);
}

// A write that fails inside reserved blocks is cut back like any other: nothing of it stays,
// the reservation goes with the cut, and the next append reserves and lands where it should.
TEST_F(faulty_log_test, a_torn_write_into_reserved_blocks_is_cut_and_appends_go_on) {
  _faulty.set_path_filter(".log");
  auto log = open_faulty(buffered(flush_policy::os));
  byte_buffer expected;
  for (int i = 0; i < 10; ++i) {
    append_expecting(*log, test::make_batch(4, 1000), expected);
  }
  uint64_t reserves = _faulty.reserves();
  _faulty.fail_writes_after(100, EIO);
  ASSERT_FALSE(try_append(*log, test::make_batch(4, 1000)));
  _faulty.clear_faults();
  EXPECT_EQ(std::filesystem::file_size(log_files(_dir / "t-0")[0]), expected.size());
  append_expecting(*log, test::make_batch(4, 1000), expected);
  EXPECT_GT(_faulty.reserves(), reserves);
  EXPECT_EQ(read_all(*log), expected);
}

}  // namespace
}  // namespace spate::storage
