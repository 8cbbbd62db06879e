// The append ring: under the buffered flush policies (`os`, `interval`), a busy log copies
// each run of batches into a small ring mapped from a file in its folder (`append.ring`) and
// answers the append at once; the ring writer's thread writes the ring out into the active
// segment in pieces of about 1 MiB, ending on batch boundaries.
//
// Why: on this machine's kernel a buffered write costs per page-cache folio it creates, and
// large writes get large folios. A 16 KiB append written alone costs ~386 us per MB on the
// owner's core, a 1 MiB write ~200 (bench/RESULTS.md, session 13), so a log of small batches
// ran at ~0.45 of the buffered write floor. With the ring, the owner's cost per batch is one
// memcpy into memory that stays mapped (no fault, no new page), and the writes that fill the
// page cache are large and off the owner's core: 16 KiB appends went from 0.42 to 1.03 of
// the floor, 1 MiB appends with 16 producers from 0.77 to 1.12 (session 14).
//
// Nothing acknowledged is lost when the process dies: the ring is a shared mapping of a file,
// so every byte copied into it is in the kernel's page cache the moment the copy is done, as a
// write() would be. Recovery (partition_log::recover) copies what the ring holds past the
// active segment's valid end into the segment and scans it again; anything stale (a power
// cut leaves the ring as the kernel last wrote it back) fails the scan's checks (CRC, offsets)
// and is cut. Against a power cut the buffered policies promise nothing before the interval's
// fdatasync, and that sync writes the ring out first (flusher.cc), so it still covers
// everything appended before it began.
//
// Everything that reads the segment file past what the ring has written (fetch, lookups,
// recovery of state, the roll) writes the ring out first, on its own thread; so does the
// flusher before an fdatasync. A run of batches larger than half the ring is written directly,
// after the ring is written out. Order is kept: the ring writes byte positions in order, and a
// direct write comes only when the ring is empty.
//
// A failed write of the ring (EIO, ENOSPC) is sticky: the ring refuses further puts and every
// write_out returns the error, which fails the log (partition_log::fail). The bytes stay in the
// ring file, and the next open copies them into the segment if the disk takes them then.
//
// Memory: each ring is `capacity` bytes of page cache (plus one 4 KiB header page) for as long
// as its log holds it, so only logs that have appended a ring's worth of data since they were
// opened take one, a log that goes idle gives it back (partition_log::release_idle_ring), and
// all rings of the process together stay within a budget (32 MiB by default, set_budget):
// past it, logs append directly as before.
//
// Threading: put, bind and the checks before them are the owner's. write_piece runs on the
// ring writer's thread, and write_out on any thread (the owner, a flusher worker); both write
// under `_write_mu`, which is held across that one page-cache write, so a reader that needs the
// data waits at most for the piece in progress. `_head` is stored only by the owner, `_tail`
// only under `_write_mu`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"

namespace spate::storage {

class ring_writer;

class append_ring : public std::enable_shared_from_this<append_ring> {
 public:
  static constexpr const char* file_name = "append.ring";
  static constexpr uint64_t header_bytes = 4096;
  // The ring writer writes about this much at a time (whole batches, so at least one).
  static constexpr uint64_t piece_bytes = 1 << 20;
  static constexpr uint64_t default_budget = 32ull << 20;
  static constexpr uint64_t min_capacity = 256 * 1024;

  // Maps (creating or resizing) the ring file at `path` with `capacity` bytes of data, empty.
  // nullptr when the process's rings would exceed the budget; an error when the file cannot
  // be mapped (a filesystem without mmap answers ENOTSUP).
  static result<std::shared_ptr<append_ring>> create(io::filesystem& fs, const std::string& path,
                                                     uint64_t capacity, ring_writer& writer);
  ~append_ring();
  append_ring(const append_ring&) = delete;
  append_ring& operator=(const append_ring&) = delete;

  // Owner. Points the ring at the segment starting at `base`, whose file is `log`: the next
  // put goes to byte `position` of it. The ring must be written out (nothing pending).
  void bind(io::file_ptr log, offset base, uint64_t position);
  // Whether a run of `bytes` goes through the ring: at most half of it, so that one put never
  // waits for more than the pieces ahead of it.
  bool takes(uint64_t bytes) const { return bytes <= _capacity / 2; }
  // Owner. Copies `parts` (whole batches, back to back) into the ring after what was put
  // before, and has the ring writer write them out. If the ring is full, writes pieces out on
  // this thread until they fit. On failure nothing of `parts` is in the ring and the error is
  // the ring's failure (a failed write, sticky).
  status put(std::span<const bytes_view> parts);
  // Any thread. Writes out everything put before the call; ok once it is in the file.
  status write_out();
  // Owner. Stops every write of the ring into the file, for a log closed after a failure:
  // what the ring holds stays in its file for the next open to restore, and nothing writes
  // into the segment behind that open's back.
  void detach();
  // Any thread. Whether bytes were put that are not yet in the file.
  bool pending() const {
    return _tail.load(std::memory_order_acquire) != _head.load(std::memory_order_acquire);
  }
  // The file position up to which everything put is in the file.
  uint64_t written_end() const { return _tail.load(std::memory_order_acquire); }
  std::optional<error> failure() const;
  uint64_t capacity() const { return _capacity; }
  const std::string& path() const { return _map->path(); }

  // The ring writer's thread: writes one piece; true if more is left to write.
  bool write_piece();
  // In the ring writer's queue, or being written by it (ring_writer keeps it).
  std::atomic<bool> queued{false};

  // Recovery: the bytes the ring file at `path` holds for the segment at `base` from file
  // position `from` up to what was last put, if the ring still has all of them (empty when it
  // holds nothing past `from`, belongs to another segment, or is not a ring file). Read through
  // `fs`, not mapped.
  static result<byte_buffer> saved_tail(io::filesystem& fs, const std::string& path, offset base,
                                        uint64_t from);

  // The most all rings of the process may map together (default above); returns the previous
  // budget. Any thread.
  static uint64_t set_budget(uint64_t bytes);
  // What the rings of the process map now (the gauge spate_storage_append_ring_bytes).
  static uint64_t mapped_bytes();

 private:
  append_ring(std::unique_ptr<io::mapped_file> map, uint64_t capacity, ring_writer& writer);
  uint8_t* data() { return _map->bytes().data() + header_bytes; }
  // The size of the batch starting at ring position `pos` (its length field).
  uint64_t batch_size_at(uint64_t pos);
  void store_header(size_t field, uint64_t value);
  bool write_piece_locked();

  std::unique_ptr<io::mapped_file> _map;
  const uint64_t _capacity;
  const uint64_t _wake_bytes;  // put wakes the writer once this much waits
  ring_writer& _writer;
  std::atomic<uint64_t> _head{0};  // file position after the last byte put
  std::atomic<uint64_t> _tail{0};  // file position after the last byte written
  mutable std::mutex _write_mu;    // held across a write of the ring into the file
  io::file_ptr _log;               // the file being written; guarded by _write_mu
  std::optional<error> _failed;    // guarded by _write_mu
  bool _detached = false;          // guarded by _write_mu
  // Set with _failed, so that a put need not take _write_mu (which the ring writer holds
  // across its write) to see that the ring is healthy.
  std::atomic<bool> _has_failed{false};
};

// The thread that writes out the rings of every log of a flusher, one piece at a time, a log
// that has more going to the back of the queue after a few pieces, so that one busy log does
// not hold up the others.
class ring_writer {
 public:
  ring_writer();
  ~ring_writer();
  ring_writer(const ring_writer&) = delete;
  ring_writer& operator=(const ring_writer&) = delete;

  // Every this often the writer also writes out what rings hold below their wake-up mark
  // (append_ring::put), so that a log whose appends stop has its last ones in the file soon.
  static constexpr int sweep_ms = 10;

  // Queues `ring` (whose `queued` the caller has just set). Any thread.
  void schedule(std::shared_ptr<append_ring> ring);
  // Adds `ring` to the sweep (until it is destroyed). Any thread.
  void watch(const std::shared_ptr<append_ring>& ring);

 private:
  void run(std::stop_token stop);
  void sweep_locked();

  std::mutex _mu;
  std::condition_variable_any _cv;
  std::deque<std::shared_ptr<append_ring>> _queue;
  std::vector<std::weak_ptr<append_ring>> _rings;  // every ring, for the sweep
  std::jthread _thread;                            // last: starts after the members it uses exist
};

}  // namespace spate::storage
