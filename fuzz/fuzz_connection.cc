// libFuzzer target: the frame decoder and everything behind it, as a client reaches them. The
// broker runs in this process (its listener, connections, request decoders and handlers, on a
// temporary data folder) and each input is the byte stream one client sends on one connection:
//
//   byte 0        how many extra write boundaries follow (its low 3 bits)
//   2 bytes each  a boundary, as an offset into the stream (big-endian, modulo its length)
//   the rest      the stream: int32 size prefixes and frames, however malformed
//
// The stream is written in pieces cut at those boundaries, the write side is shut, and the
// answers are read for a moment; then the connection is closed, answered or not (a client
// that vanishes mid-request is part of the input space).
//
// Properties checked, besides "never crashes, never reads out of bounds, no UB" in any broker
// thread: after each input the broker still answers ApiVersions on a fresh connection.
//
// Before the stream is sent, frames naming CreateTopics, DeleteTopics, CreatePartitions,
// DeleteRecords or AlterConfigs become ApiVersions (a topic of 100 000 partitions per input
// would fill the disk, not find bugs), and so do JoinGroup and SyncGroup (a member waits for
// its group up to its rebalance timeout, minutes, and would hold its connection into later
// inputs); a Fetch's max_wait_ms is cut to 10 ms for the same reason. fuzz_request_decoder
// covers those decoders, the integration tests the handlers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "observe/log.h"

namespace {

using namespace spate;

std::atomic<bool> g_stop{false};
std::thread g_broker;
uint16_t g_port = 0;
std::filesystem::path g_dir;
// The broker thread reports its start and its end through these: globals, not locals of
// LLVMFuzzerInitialize, since it ends (at exit) long after that returned.
std::mutex g_mu;
std::condition_variable g_cv;
bool g_ready = false;
bool g_ended = false;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_connection: %s\n", what);
  std::abort();
}

void stop_broker() {
  g_stop = true;
  if (g_broker.joinable()) g_broker.join();
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

int connect_broker() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(g_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail("cannot connect to the broker: it stopped listening");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads the answers until EOF or a reset: once the client has shut its side, the broker
// answers what it read and closes, so the connection ends within the input (nothing it asked
// for is left running into the next one). At most `ms` in all: a broker that keeps the
// connection open longer is not an error here (check_serving judges liveness).
void drain(int fd, int ms) {
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
  }
}

bool send_all(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;  // the broker closed: what is left is never read
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// ApiVersions v0 with correlation id 7 on a fresh connection must be answered.
void check_serving() {
  int fd = connect_broker();
  const uint8_t req[] = {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff};
  if (!send_all(fd, req, sizeof req)) fail("the broker refused an ApiVersions request");
  uint8_t head[8];
  size_t have = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (have < sizeof head) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      fail("the broker did not answer ApiVersions within 10 s after an input");
    }
    ssize_t n = ::recv(fd, head + have, sizeof head - have, 0);
    if (n <= 0) fail("the broker closed a connection with a valid ApiVersions request");
    have += static_cast<size_t>(n);
  }
  if (head[4] != 0 || head[5] != 0 || head[6] != 0 || head[7] != 7) {
    fail("ApiVersions answered with the wrong correlation id");
  }
  ::close(fd);
}

bool denied(int16_t key) {
  switch (key) {
    case 19:  // CreateTopics
    case 20:  // DeleteTopics
    case 21:  // DeleteRecords
    case 33:  // AlterConfigs
    case 37:  // CreatePartitions
    case 11:  // JoinGroup
    case 14:  // SyncGroup
      return true;
    default:
      return false;
  }
}

// A Fetch (v4-v11: header, replica_id, max_wait_ms) waits at most 10 ms.
void cap_fetch_wait(std::vector<uint8_t>& s, size_t frame, size_t len) {
  // key, version, correlation id, then the client id: int16 length (-1: null) and bytes.
  if (len < 10) return;
  auto id_len = static_cast<int16_t>(s[frame + 8] << 8 | s[frame + 9]);
  size_t at = frame + 10 + (id_len > 0 ? static_cast<size_t>(id_len) : 0) + 4;
  if (at + 4 > frame + len) return;
  int32_t wait = static_cast<int32_t>(uint32_t{s[at]} << 24 | uint32_t{s[at + 1]} << 16 |
                                      uint32_t{s[at + 2]} << 8 | uint32_t{s[at + 3]});
  if (wait > 10) {
    const uint8_t ten[] = {0, 0, 0, 10};
    std::memcpy(&s[at], ten, sizeof ten);
  }
}

// Turns the frames whose key is denied into ApiVersions, walking the size prefixes as the
// broker will (a prefix outside the stream ends the walk: the broker reads no further frame).
void neuter(std::vector<uint8_t>& s) {
  size_t pos = 0;
  while (pos + 6 <= s.size()) {
    int32_t size = static_cast<int32_t>(uint32_t{s[pos]} << 24 | uint32_t{s[pos + 1]} << 16 |
                                        uint32_t{s[pos + 2]} << 8 | uint32_t{s[pos + 3]});
    if (size < 2) return;
    auto key = static_cast<int16_t>(s[pos + 4] << 8 | s[pos + 5]);
    if (denied(key)) {
      s[pos + 4] = 0;
      s[pos + 5] = 18;
    } else if (key == 1) {
      cap_fetch_wait(s, pos + 4, std::min(static_cast<size_t>(size), s.size() - pos - 4));
    }
    if (static_cast<size_t>(size) > s.size() - pos - 4) return;
    pos += 4 + static_cast<size_t>(size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)observe::set_log_level("off");
  // Room for the connections of a long run (the soft limit is often 1024).
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  char tmpl[] = "/tmp/fuzz_connection.XXXXXX";
  if (!::mkdtemp(tmpl)) fail("mkdtemp");
  g_dir = tmpl;
  broker::broker_config cfg;
  cfg.data_dir = g_dir.string();
  cfg.listen_port = 0;
  cfg.metrics_port = -1;
  cfg.cores = 2;  // requests cross cores, as on any machine with more than two
  cfg.auto_create_topics = false;
  cfg.max_frame_bytes = 1 << 20;
  cfg.group_initial_rebalance_delay_ms = 0;
  cfg.page_cache_budget_mb = 0;
  g_broker = std::thread([cfg] {
    auto st = broker::broker::run(cfg, g_stop, [](uint16_t port) {
      std::lock_guard lock(g_mu);
      g_port = port;
      g_ready = true;
      g_cv.notify_all();
    });
    if (!st) std::fprintf(stderr, "fuzz_connection: broker: %s\n", st.error().message().c_str());
    std::lock_guard lock(g_mu);
    g_ended = true;
    g_cv.notify_all();
  });
  {
    std::unique_lock lock(g_mu);
    g_cv.wait(lock, [] { return g_ready || g_ended; });
    if (!g_ready) fail("the broker did not start");
  }
  std::atexit(stop_broker);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t cuts = data[0] & 7;
  size_t head = 1 + 2 * cuts;
  if (size < head) return 0;
  std::vector<uint8_t> stream(data + head, data + size);
  if (stream.empty()) return 0;
  neuter(stream);
  std::vector<size_t> at = {0, stream.size()};
  for (size_t i = 0; i < cuts; ++i) {
    at.push_back((size_t{data[1 + 2 * i]} << 8 | data[2 + 2 * i]) % stream.size());
  }
  std::sort(at.begin(), at.end());

  int fd = connect_broker();
  for (size_t i = 0; i + 1 < at.size(); ++i) {
    if (at[i + 1] == at[i]) continue;
    if (!send_all(fd, stream.data() + at[i], at[i + 1] - at[i])) break;
  }
  ::shutdown(fd, SHUT_WR);
  drain(fd, 2000);
  ::close(fd);
  check_serving();
  return 0;
}
