#include "support/page_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace spate::test {

size_t resident_pages(const std::filesystem::path& file, uint64_t from, uint64_t to) {
  int fd = ::open(file.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << file;
  if (fd < 0) return 0;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  from = from / page * page;
  size_t len = static_cast<size_t>(to - from);
  if (len == 0) {
    ::close(fd);
    return 0;
  }
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(from));
  ::close(fd);
  EXPECT_NE(map, MAP_FAILED);
  if (map == MAP_FAILED) return 0;
  std::vector<unsigned char> in((len + page - 1) / page);
  EXPECT_EQ(::mincore(map, len, in.data()), 0);
  ::munmap(map, len);
  return static_cast<size_t>(
      std::count_if(in.begin(), in.end(), [](unsigned char c) { return (c & 1) != 0; }));
}

bool on_tmpfs(const std::filesystem::path& dir) {
  struct statfs info {};
  return ::statfs(dir.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
}

}  // namespace spate::test
