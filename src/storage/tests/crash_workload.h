// The workload shared by storage_crash_child (which writes it and is killed) and
// storage_crash_test (which checks what survived). The content of every batch is a pure
// function of (seed, partition, base offset), so the test can regenerate any batch it finds in
// the log without the child having to tell it anything but what was acknowledged; a child
// started on a recovered log simply continues at the recovered log end.
//
//   auto b = crash_workload::make_batch(seed, partition_id(1), offset(42));
//   // b is byte for byte what the log stores at offset 42 of partition 1.
//
// The child reports on stdout, one write(2) per line (each shorter than PIPE_BUF, so lines from
// different threads never interleave):
//   ready                                   the logs are open and appends start
//   ack <partition> <base> <next> <crc>    the batch at <base> reached the disk (under `os`:
//                                           the append returned)
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/strong_id.h"
#include "storage/log_config.h"
#include "storage/record_batch.h"
#include "support/batch_builder.h"

namespace spate::storage::crash_workload {

inline const std::string topic = "crash";

// Small segments, so that rolls (sync, index write, new file) happen during a run and a kill
// lands inside one now and then; `always` so that an acknowledgement means fdatasync. Small
// preallocation chunks (zero_fill.h), so that kills also land while zeros are written ahead
// of the appends and before a roll or close has cut them: recovery must find the end of the
// data behind them and keep every acknowledged batch.
//
// With `os` (the ring round, crash_test's second test) an acknowledgement means the append
// returned: the batch is in the page cache, or in the log's append ring (append_ring.h), which
// the log takes once it has appended a ring's worth since it was opened. A small ring in
// segments four times its size, so that it wraps within a segment (a put, a piece and a
// restore split at the ring's end), and kills land while it holds a tail the segment has not.
inline log_config config(flush_policy policy = flush_policy::always) {
  log_config c;
  c.segment_bytes = policy == flush_policy::always ? 64 * 1024 : 1024 * 1024;
  c.index_interval_bytes = 1024;
  c.flush = policy;
  c.preallocate_bytes = policy == flush_policy::always ? 16 * 1024 : 0;
  c.append_ring_bytes = 256 * 1024;
  return c;
}

// splitmix64: a good, tiny, well-known mixing function; enough for test content.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The batch written at `base` of `partition`, with its base offset already set. Mostly small
// batches (tens of bytes to a few KiB), and about one in twenty of 16-40 KiB, which the kernel
// may write in several pieces, so that a kill can tear a batch.
inline byte_buffer make_batch(uint64_t seed, partition_id partition, offset base) {
  uint64_t state = mix(
      seed ^ mix(static_cast<uint64_t>(partition.value) ^ mix(static_cast<uint64_t>(base.value))));
  auto next = [&state] { return state = mix(state); };
  size_t total = next() % 20 == 0 ? 16 * 1024 + next() % (24 * 1024) : 16 + next() % 3000;
  int count = 1 + static_cast<int>(next() % 8);
  int64_t ts = 1'700'000'000'000 + base.value;
  test::batch_builder b;
  b.base_timestamp(ts);
  for (int i = 0; i < count; ++i) {
    std::string value(total / count, '\0');
    for (size_t j = 0; j < value.size(); j += 8) {
      uint64_t r = next();
      for (size_t k = 0; k < 8 && j + k < value.size(); ++k) {
        value[j + k] = static_cast<char>(r >> (8 * k));
      }
    }
    std::string key = "p" + std::to_string(partition.value) + "-" + std::to_string(base.value) +
                      "-" + std::to_string(i);
    b.add(std::move(key), std::move(value), ts + i);
  }
  byte_buffer out = b.build();
  set_base_offset(out, base);
  return out;
}

}  // namespace spate::storage::crash_workload
