#include "storage/producer_ids.h"

#include <gtest/gtest.h>

#include <set>

#include "io/posix_filesystem.h"
#include "storage/errc.h"
#include "support/temp_dir.h"

namespace spate::storage {
namespace {

TEST(producer_ids_test, ids_are_unique_across_restarts) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  std::set<int64_t> seen;
  for (int run = 0; run < 3; ++run) {
    auto ids = producer_ids::open(fs, dir.path());
    ASSERT_TRUE(ids) << ids.error().message();
    for (int i = 0; i < 1500; ++i) {
      auto id = (*ids)->next();
      ASSERT_TRUE(id) << id.error().message();
      EXPECT_TRUE(seen.insert(*id).second) << "reused id " << *id;
    }
  }
  EXPECT_EQ(*seen.begin(), 0);
}

TEST(producer_ids_test, corrupt_file_is_refused_rather_than_guessed) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  {
    auto ids = producer_ids::open(fs, dir.path());
    ASSERT_TRUE(ids);
    ASSERT_TRUE((*ids)->next());
  }
  ASSERT_TRUE(io::write_file_atomically(fs, dir.path() + "/producer_ids", as_bytes("nonsense")));
  auto ids = producer_ids::open(fs, dir.path());
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code, make_error_code(errc::corrupt_metadata));
  EXPECT_NE(ids.error().message().find("producer_ids"), std::string::npos);
}

}  // namespace
}  // namespace spate::storage
