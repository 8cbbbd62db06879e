#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_injecting_filesystem.h"
#include "io/posix_filesystem.h"
#include "support/page_cache.h"

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

// A shared mapping is the file's page cache: stores show in reads of the file at once, and
// stay after the mapping is gone. A mapped file of another size is resized, keeping its start.
TEST_F(filesystem_test, shared_mapping_stores_reach_the_file) {
  auto m = _real.map_shared(path("ring"), 8192);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ((*m)->bytes().size(), 8192u);
  EXPECT_EQ((*m)->path(), path("ring"));
  (*m)->bytes()[0] = 'a';
  (*m)->bytes()[8191] = 'z';
  auto f = _real.open(path("ring"), open_mode::read_only);
  ASSERT_TRUE(f);
  EXPECT_EQ(*(*f)->size(), 8192u);
  uint8_t buf[1];
  ASSERT_TRUE((*f)->read_at(8191, buf));
  EXPECT_EQ(buf[0], 'z');
  m->reset();
  auto again = _real.map_shared(path("ring"), 16384);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ((*again)->bytes()[0], 'a');
  EXPECT_EQ((*again)->bytes()[16383], 0);
  EXPECT_EQ(*(*f)->size(), 16384u);
  // Where the folder is missing, the error names the path.
  auto missing = _real.map_shared(path("no/such/ring"), 4096);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
  EXPECT_NE(missing.error().message().find("no/such/ring"), std::string::npos);
}

// The fault-injecting filesystem refuses mappings unless told, so that everything a log under
// test writes goes through its faults.
TEST_F(filesystem_test, fault_filesystem_maps_only_when_allowed) {
  fault_injecting_filesystem fs(_real);
  auto refused = fs.map_shared(path("ring"), 4096);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, std::errc::not_supported);
  fs.allow_mapping(true);
  auto m = fs.map_shared(path("ring"), 4096);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ((*m)->bytes().size(), 4096u);
}

// drop_cache writes a range back and evicts it: large writes (large folios) included, with
// the data unchanged and the rest of the file still cached.
TEST_F(filesystem_test, drop_cache_evicts_the_range_and_keeps_the_data) {
  if (test::on_tmpfs(_dir)) GTEST_SKIP() << "tmpfs keeps its pages";
  auto f = _real.open(path("seg"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  byte_buffer data(8 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
  // Written in 2 MiB pieces, dirty, so that the eviction must write them back first.
  for (size_t p = 0; p < data.size(); p += 2 << 20) {
    ASSERT_TRUE((*f)->write_at(p, bytes_view(data).subspan(p, 2 << 20)));
  }
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  ASSERT_EQ(test::resident_pages(path("seg"), 0, data.size()), data.size() / page);
  ASSERT_TRUE((*f)->drop_cache(0, 6 << 20));
  EXPECT_EQ(test::resident_pages(path("seg"), 0, 6 << 20), 0u);
  EXPECT_EQ(test::resident_pages(path("seg"), 6 << 20, data.size()), (2u << 20) / page);
  byte_buffer back(data.size());
  auto n = (*f)->read_at(0, back);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, data.size());
  EXPECT_TRUE(back == data);
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

// Reads the whole file `p` as a string.
std::string content_of(posix_filesystem& fs, const std::string& p) {
  auto b = read_whole_file(fs, p);
  EXPECT_TRUE(b) << b.error().message();
  return b ? std::string(b->begin(), b->end()) : std::string();
}

// More parts than one pwritev takes (IOV_MAX), some empty: all land back to back.
TEST_F(filesystem_test, gathered_write_of_many_parts_lands_in_order) {
  auto f = _real.open(path("g"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_at(0, as_bytes("head")));
  std::vector<std::string> texts;
  std::string expected = "head";
  for (int i = 0; i < 2500; ++i) {
    texts.push_back(i % 7 == 3 ? std::string() : "<" + std::to_string(i) + ">");
    expected += texts.back();
  }
  std::vector<bytes_view> parts;
  for (auto& t : texts) parts.push_back(as_bytes(t));
  auto s = (*f)->write_gather_at(4, parts);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(content_of(_real, path("g")), expected);
}

// A real short pwritev: the file-size limit (RLIMIT_FSIZE) stops the first call inside the
// second part, the retry of the rest fails with EFBIG. The caller gets the error, and exactly
// the prefix below the limit is in the file (what storage then truncates away).
TEST_F(filesystem_test, gathered_write_cut_short_by_the_kernel_reports_the_error) {
  auto f = _real.open(path("short"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit limit = old_limit;
  limit.rlim_cur = 6;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::vector<bytes_view> parts = {as_bytes("abcd"), as_bytes("efgh"), as_bytes("ijkl")};
  auto s = (*f)->write_gather_at(0, parts);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::file_too_large) << s.error().message();
  EXPECT_NE(s.error().message().find("pwritev"), std::string::npos) << s.error().message();
  EXPECT_EQ(content_of(_real, path("short")), "abcdef");
}

// The fault injector tears a gathered write wherever its budget ends: inside a part, or on a
// part boundary; a zero budget writes nothing. Each fails with the injected error.
TEST_F(filesystem_test, injected_faults_tear_gathered_writes) {
  fault_injecting_filesystem fs(_real);
  std::vector<bytes_view> parts = {as_bytes("abcd"), as_bytes("efgh"), as_bytes("ijkl")};
  struct tear_case {
    uint64_t budget;
    std::string kept;
  };
  for (const tear_case& c : {tear_case{6, "abcdef"}, tear_case{8, "abcdefgh"}, tear_case{0, ""}}) {
    std::string name = "torn" + std::to_string(c.budget);
    auto f = fs.open(path(name), open_mode::read_write_create);
    ASSERT_TRUE(f);
    fs.fail_writes_after(c.budget, ENOSPC);
    auto s = (*f)->write_gather_at(0, parts);
    ASSERT_FALSE(s) << c.budget;
    EXPECT_EQ(s.error().code, std::errc::no_space_on_device);
    EXPECT_EQ(content_of(_real, path(name)), c.kept) << c.budget;
    fs.clear_faults();
  }
  auto f = fs.open(path("whole"), open_mode::read_write_create);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_gather_at(0, parts));
  EXPECT_EQ(content_of(_real, path("whole")), "abcdefghijkl");
  EXPECT_EQ(fs.bytes_written(), 6u + 8u + 12u);
}

// Separate descriptors of one file (the flusher syncs on one per sync in flight) all count
// for power loss: data synced through any of them survives.
TEST_F(filesystem_test, sync_through_a_second_descriptor_counts_for_power_loss) {
  fault_injecting_filesystem fs(_real);
  auto w = fs.open(path("two.log"), open_mode::read_write_create);
  auto other = fs.open(path("two.log"), open_mode::read_only);
  ASSERT_TRUE(w && other);
  ASSERT_TRUE((*w)->write_at(0, as_bytes("durable")));
  ASSERT_TRUE((*other)->sync_data());
  ASSERT_TRUE((*w)->write_at(7, as_bytes("-lost")));
  ASSERT_TRUE(fs.simulate_power_loss());
  EXPECT_EQ(content_of(_real, path("two.log")), "durable");
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

// A held write waits before doing anything; smaller writes and other paths pass meanwhile.
TEST_F(filesystem_test, held_write_waits_until_released_and_small_writes_pass) {
  fault_injecting_filesystem fs(_real);
  fs.set_path_filter(".log");
  auto log = fs.open(path("a.log"), open_mode::read_write_create);
  ASSERT_TRUE(log);
  fs.hold_writes(1, 100);
  std::string big(200, 'x');
  std::thread writer([&] { EXPECT_TRUE((*log)->write_at(0, as_bytes(big))); });
  while (fs.held_writes() == 0) std::this_thread::yield();
  EXPECT_EQ(std::filesystem::file_size(path("a.log")), 0u);  // nothing written yet
  ASSERT_TRUE((*log)->write_at(300, as_bytes("small")));     // below min_bytes: not held
  EXPECT_EQ(fs.held_writes(), 1);
  fs.release_writes();
  writer.join();
  EXPECT_EQ(fs.held_writes(), 0);
  EXPECT_EQ(std::filesystem::file_size(path("a.log")), 305u);
  ASSERT_TRUE((*log)->write_at(0, as_bytes(big)));  // the hold was for one write only
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
