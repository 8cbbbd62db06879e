// storage_crash_child: the process storage_crash_test kills with SIGKILL. It opens a data
// folder with log_manager (recovering it), then appends the batches of crash_workload.h to
// several partitions, one owner thread per partition, and prints an `ack` line for each batch
// once its durability callback has reported the disk. It never stops by itself; the test
// kills it, or it dies of SIGPIPE (or PR_SET_PDEATHSIG) when the test is gone.
//
//   storage_crash_child <data_dir> <partitions> <seed> [os]
//
// With `os` the logs use that flush policy and the append ring (crash_workload::config), and
// a batch is acknowledged as soon as its append returns; appends are paced (a few tens of MB/s
// per partition) so that a round's data stays small.
//
// Errors go to stderr and end the process with a non-zero status, which the test reports:
// a child that exits on its own is a failure, not a crash.
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "io/posix_filesystem.h"
#include "storage/log_manager.h"
#include "storage/tests/crash_workload.h"

namespace spate::storage {
namespace {

// Batches appended but not yet durable, per partition. Bounding them keeps the data written per
// run proportional to the sync rate (and the folder small) while still letting group commit
// cover several appends with one fdatasync.
constexpr int max_in_flight = 16;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage_crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// One line, one write(2): the test trusts only whole lines, and a line shorter than PIPE_BUF
// is written atomically, so lines from the flusher thread never interleave.
void emit(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the test is gone
    done += static_cast<size_t>(n);
  }
}

// The owner thread of one partition: appends forever.
void append_loop(std::shared_ptr<partition_log> log, partition_id p, uint64_t seed, bool os) {
  std::atomic<int> in_flight{0};
  for (;;) {
    if (os) std::this_thread::sleep_for(std::chrono::microseconds(50));
    for (int n = in_flight.load(); n >= max_in_flight; n = in_flight.load()) in_flight.wait(n);
    offset base = log->log_end();
    byte_buffer batch = crash_workload::make_batch(seed, p, base);
    uint32_t crc = load_be<uint32_t>(batch.data() + batch_layout::crc);
    auto a = log->append(batch, wall_now());
    if (!a) die("append to partition " + std::to_string(p.value) + ": " + a.error().message());
    if (a->base_offset != base) {
      die("append got base offset " + std::to_string(a->base_offset.value) + ", expected " +
          std::to_string(base.value));
    }
    in_flight.fetch_add(1);
    std::string line = "ack " + std::to_string(p.value) + " " + std::to_string(base.value) + " " +
                       std::to_string(a->next_offset.value) + " " + std::to_string(crc) + "\n";
    // The callback runs on the flusher thread (or here, if already durable). `in_flight` is
    // safe to reference: this loop never returns while the process lives.
    log->when_durable(a->next_offset, [line, &in_flight, os](status s, durability d) {
      if (!s) die("durability failed: " + s.error().message());
      if (!os && d != durability::disk) die("flush policy always acknowledged short of the disk");
      emit(line);
      in_flight.fetch_sub(1);
      in_flight.notify_one();
    });
  }
}

int run(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "os")) {
    std::fprintf(stderr, "usage: %s <data_dir> <partitions> <seed> [os]\n", argv[0]);
    return 1;
  }
  bool os = argc == 5;
  // If the test dies without killing us, we go too, rather than fill the disk (and a write
  // to the closed pipe would end us anyway).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string dir = argv[1];
  int partitions = std::atoi(argv[2]);
  uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  if (partitions < 1 || partitions > 64) die("bad partition count");

  io::posix_filesystem fs;
  log_manager::options opts{
      .data_dir = dir,
      .defaults = crash_workload::config(os ? flush_policy::os : flush_policy::always)};
  auto lm = log_manager::open(fs, opts);
  if (!lm) die("opening " + dir + ": " + lm.error().message());
  std::vector<std::shared_ptr<partition_log>> logs;
  for (int p = 0; p < partitions; ++p) {
    auto log = (*lm)->get_or_create({crash_workload::topic, partition_id(p)});
    if (!log) die("creating partition " + std::to_string(p) + ": " + log.error().message());
    logs.push_back(*log);
  }
  emit("ready\n");
  std::vector<std::jthread> threads;
  for (int p = 0; p < partitions; ++p) {
    threads.emplace_back(append_loop, logs[p], partition_id(p), seed, os);
  }
  // The threads never end; the process ends by SIGKILL.
  for (;;) ::pause();
}

}  // namespace
}  // namespace spate::storage

int main(int argc, char** argv) {
  return spate::storage::run(argc, argv);
}
