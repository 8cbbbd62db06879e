// Whole reads and writes on a blocking file descriptor, retried on EINTR and short counts:
// what the benchmarks' loopback floor measurements (RTT, BW_tcp) exchange. Shared by
// kafka_bench and group_bench so that both measure the floors the same way.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace spate::bench {

inline bool write_full(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

inline bool read_full(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace spate::bench
