#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"

namespace spate::io {
namespace {

class filesystem_test : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = std::filesystem::temp_directory_path() /
           ("spate-io-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(_dir);
    std::filesystem::create_directories(_dir);
  }
  void TearDown() override { std::filesystem::remove_all(_dir); }
  std::string path(const std::string& name) { return (_dir / name).string(); }

  std::filesystem::path _dir;
  posix_filesystem _real;
};

TEST_F(filesystem_test, positioned_write_read_truncate) {
  auto f = _real.open(path("a"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_at(0, as_bytes("hello world")));
  ASSERT_TRUE((*f)->write_at(6, as_bytes("WORLD")));
  ASSERT_TRUE((*f)->sync_data());
  byte_buffer buf(64);
  auto n = (*f)->read_at(0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(as_string_view(bytes_view(buf).first(*n)), "hello WORLD");
  ASSERT_TRUE((*f)->truncate(5));
  EXPECT_EQ(*(*f)->size(), 5u);
}

TEST_F(filesystem_test, open_missing_file_reports_path_and_errno) {
  auto f = _real.open(path("missing"), open_mode::read_only);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, std::errc::no_such_file_or_directory);
  EXPECT_NE(f.error().message().find("missing"), std::string::npos);
}

TEST_F(filesystem_test, lock_is_exclusive_until_released) {
  auto a = _real.lock_file(path("LOCK"));
  ASSERT_TRUE(a);
  // flock locks belong to the open file description, so a second open in the same process
  // conflicts just as another process would.
  auto b = _real.lock_file(path("LOCK"));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("in use"), std::string::npos);
  a.value().reset();
  EXPECT_TRUE(_real.lock_file(path("LOCK")));
}

TEST_F(filesystem_test, atomic_write_replaces_whole_content) {
  ASSERT_TRUE(write_file_atomically(_real, path("meta"), as_bytes("first version")));
  ASSERT_TRUE(write_file_atomically(_real, path("meta"), as_bytes("v2")));
  auto content = read_whole_file(_real, path("meta"));
  ASSERT_TRUE(content);
  EXPECT_EQ(as_string_view(*content), "v2");
  EXPECT_FALSE(*_real.exists(path("meta.tmp")));
}

TEST_F(filesystem_test, torn_write_then_enospc) {
  fault_injecting_filesystem fs(_real);
  auto f = fs.open(path("seg.log"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  fs.fail_writes_after(4, ENOSPC);
  auto s = (*f)->write_at(0, as_bytes("abcdefgh"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::no_space_on_device);
  EXPECT_EQ(*(*f)->size(), 4u);  // the torn prefix is on disk
  EXPECT_FALSE((*f)->write_at(4, as_bytes("x")));
  fs.clear_faults();
  EXPECT_TRUE((*f)->write_at(4, as_bytes("efgh")));
}

TEST_F(filesystem_test, path_filter_limits_faults) {
  fault_injecting_filesystem fs(_real);
  fs.set_path_filter(".log");
  fs.fail_syncs(EIO, -1);
  auto idx = fs.open(path("a.index"), open_mode::read_write_create);
  auto log = fs.open(path("a.log"), open_mode::read_write_create);
  ASSERT_TRUE(idx && log);
  EXPECT_TRUE((*idx)->sync_data());
  auto s = (*log)->sync_data();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::io_error);
}

TEST_F(filesystem_test, power_loss_drops_unsynced_tail) {
  fault_injecting_filesystem fs(_real);
  auto f = fs.open(path("a.log"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_at(0, as_bytes("durable|")));
  ASSERT_TRUE((*f)->sync_data());
  ASSERT_TRUE((*f)->write_at(8, as_bytes("volatile")));
  ASSERT_TRUE(fs.simulate_power_loss(3));
  auto content = read_whole_file(_real, path("a.log"));
  ASSERT_TRUE(content);
  EXPECT_EQ(as_string_view(*content), "durable|vol");
  EXPECT_EQ(fs.bytes_written(), 16u);
}

}  // namespace
}  // namespace spate::io
