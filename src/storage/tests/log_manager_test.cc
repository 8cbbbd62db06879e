#include "storage/log_manager.h"

#include <gtest/gtest.h>

#include "io/posix_filesystem.h"
#include "storage/errc.h"
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

TEST(log_manager, topic_names_follow_kafka_rules) {
  EXPECT_TRUE(valid_topic_name("a.b_c-D9"));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("a b"));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'a')));
}

}  // namespace
}  // namespace spate::storage
