#include "storage/log_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/crc32c.h"
#include "io/posix_filesystem.h"
#include "storage/errc.h"
#include "storage/topic_catalog.h"
#include "support/batch_builder.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

TEST(log_manager, creates_reopens_and_removes_logs) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  log_manager::options opts;
  opts.data_dir = dir / "data";
  {
    auto lm = log_manager::open(fs, opts);
    ASSERT_TRUE(lm) << lm.error().message();
    for (int p = 0; p < 3; ++p) {
      auto log = (*lm)->get_or_create({"orders-v2", partition_id(p)});
      ASSERT_TRUE(log);
      auto b = test::make_batch(p + 1, 10);
      ASSERT_TRUE((*log)->append(b, timestamp_ms(1)));
    }
    EXPECT_FALSE((*lm)->get({"nope", partition_id(0)}));
    EXPECT_FALSE((*lm)->get_or_create({"bad/name", partition_id(0)}));
  }
  auto lm = log_manager::open(fs, opts);
  ASSERT_TRUE(lm);
  ASSERT_EQ((*lm)->recovery().size(), 3u);
  for (auto& r : (*lm)->recovery()) EXPECT_TRUE(r.clean_shutdown) << r.dir;
  auto p2 = (*lm)->get({"orders-v2", partition_id(2)});
  ASSERT_TRUE(p2);
  EXPECT_EQ((*p2)->log_end(), offset(3));
  ASSERT_TRUE((*lm)->remove({"orders-v2", partition_id(2)}));
  EXPECT_EQ((*lm)->partitions().size(), 2u);
  EXPECT_FALSE(*fs.exists(opts.data_dir + "/orders-v2-2"));
}

TEST(log_manager, second_opener_of_a_folder_is_refused) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  log_manager::options opts;
  opts.data_dir = dir / "data";
  auto first = log_manager::open(fs, opts);
  ASSERT_TRUE(first);
  auto second = log_manager::open(fs, opts);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(errc::folder_in_use));
  first.value().reset();
  EXPECT_TRUE(log_manager::open(fs, opts));
}

// Several threads open the folder's logs after an unclean shutdown (the broker uses 8): each
// log recovers exactly as a sequential open would, the reports come in folder order, and a log
// that fails to open fails the whole open, as before.
TEST(log_manager, opens_logs_on_several_threads_as_one_would) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  log_manager::options opts;
  opts.data_dir = dir / "data";
  constexpr int partitions = 12;
  {
    auto lm = log_manager::open(fs, opts);
    ASSERT_TRUE(lm) << lm.error().message();
    for (int p = 0; p < partitions; ++p) {
      auto log = (*lm)->get_or_create({"t", partition_id(p)});
      ASSERT_TRUE(log);
      for (int b = 0; b <= p; ++b) {
        auto batch = test::make_batch(3, 100);
        ASSERT_TRUE((*log)->append(batch, timestamp_ms(1)));
      }
    }
  }
  // Unclean: no clean_shutdown markers, and a torn batch at the end of every third log.
  for (int p = 0; p < partitions; ++p) {
    std::string pdir = opts.data_dir + "/t-" + std::to_string(p);
    std::filesystem::remove(pdir + "/clean_shutdown");
    if (p % 3 == 0) {
      auto torn = test::make_batch(2, 100);
      std::ofstream(pdir + "/00000000000000000000.log", std::ios::app)
          .write(reinterpret_cast<const char*>(torn.data()), 40);
    }
  }
  std::filesystem::copy(opts.data_dir, dir / "copy", std::filesystem::copy_options::recursive);
  auto seq_opts = opts;
  seq_opts.data_dir = dir / "copy";
  auto par_opts = opts;
  par_opts.open_threads = 5;
  auto seq = log_manager::open(fs, seq_opts);
  auto par = log_manager::open(fs, par_opts);
  ASSERT_TRUE(seq) << seq.error().message();
  ASSERT_TRUE(par) << par.error().message();
  auto& a = (*seq)->recovery();
  auto& b = (*par)->recovery();
  ASSERT_EQ(a.size(), static_cast<size_t>(partitions));
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::filesystem::path(b[i].dir).filename(),
              std::filesystem::path(a[i].dir).filename());
    EXPECT_FALSE(b[i].clean_shutdown);
    EXPECT_EQ(b[i].bytes_scanned, a[i].bytes_scanned);
    EXPECT_EQ(b[i].truncated_bytes, a[i].truncated_bytes);
    EXPECT_EQ(b[i].size_bytes, a[i].size_bytes);
  }
  for (int p = 0; p < partitions; ++p) {
    auto log = (*par)->get({"t", partition_id(p)});
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)->log_end(), offset(3 * (p + 1))) << p;
  }
  // Folder order is "t-0", "t-1", "t-10", "t-11", "t-2", ...: a torn tail was cut in t-0.
  EXPECT_GT(b[0].truncated_bytes, 0u);
  par.value().reset();

  // A partition.meta from a newer version is an error (partition.md); one worker meets it.
  uint8_t meta[20] = {'S', 'P', 'P', 'M', 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t crc = crc32c::value(bytes_view(meta, 16));
  for (int i = 0; i < 4; ++i) meta[16 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  std::ofstream(opts.data_dir + "/t-7/partition.meta", std::ios::binary)
      .write(reinterpret_cast<const char*>(meta), sizeof meta);
  auto failed = log_manager::open(fs, par_opts);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("t-7"), std::string::npos) << failed.error().message();
}

TEST(log_manager, topic_names_follow_kafka_rules) {
  EXPECT_TRUE(valid_topic_name("a.b_c-D9"));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("a b"));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'a')));
}

}  // namespace
}  // namespace spate::storage

namespace spate::storage {
namespace {

TEST(topic_catalog, persists_topics_and_configs_and_rejects_bad_values) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  {
    auto cat = topic_catalog::open(fs, dir.path());
    ASSERT_TRUE(cat);
    ASSERT_TRUE((*cat)->put({"orders", 6, {{"retention.ms", "3600000"}}}));
    ASSERT_TRUE((*cat)->put({"payments", 1, {}}));
    ASSERT_TRUE((*cat)->erase("payments"));
  }
  auto cat = topic_catalog::open(fs, dir.path());
  ASSERT_TRUE(cat);
  auto all = (*cat)->all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].partitions, 6);
  log_config c;
  ASSERT_TRUE(apply_topic_configs(all[0].configs, c));
  EXPECT_EQ(c.retention_ms, 3600000);
  log_config unchanged;
  auto bad = apply_topic_configs({{"retention.ms", "soon"}}, unchanged);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("retention.ms=soon"), std::string::npos);
  EXPECT_FALSE(apply_topic_configs({{"no.such.config", "1"}}, unchanged));
  EXPECT_FALSE(apply_topic_configs({{"segment.bytes", "10"}}, unchanged));
  EXPECT_EQ(unchanged.retention_ms, log_config{}.retention_ms);
}

TEST(topic_catalog, corrupt_catalog_is_a_clear_error) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  {
    auto cat = topic_catalog::open(fs, dir.path());
    ASSERT_TRUE(cat);
    ASSERT_TRUE((*cat)->put({"orders", 2, {}}));
  }
  {
    auto f = fs.open(dir / "topics.catalog", io::open_mode::read_write);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(12, as_bytes("X")));
  }
  auto cat = topic_catalog::open(fs, dir.path());
  ASSERT_FALSE(cat);
  EXPECT_EQ(cat.error().code, make_error_code(errc::corrupt_metadata));
}

TEST(log_manager, folder_names_with_leading_zeros_are_not_partitions) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  log_manager::options opts;
  opts.data_dir = dir / "data";
  ASSERT_TRUE(fs.create_dirs(opts.data_dir + "/orders-07"));
  auto lm = log_manager::open(fs, opts);
  ASSERT_TRUE(lm);
  EXPECT_TRUE((*lm)->partitions().empty());
}

}  // namespace
}  // namespace spate::storage
