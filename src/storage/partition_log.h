// partition_log: the durable, append-only log of one topic-partition. Batches are validated,
// given offsets and written to the active segment exactly as produced (compressed batches
// stay compressed). Segments roll by size and age; retention deletes whole old segments by
// size and time; delete_records moves the log start offset. Formats: docs/formats/.
//
//   auto log = partition_log::open(fs, "data/orders-0", cfg, flusher, &report);
//   auto a = (*log)->append(batch_bytes, wall_now());       // offsets assigned, in page cache
//   (*log)->when_durable(a->next_offset, [](status s, durability d) { ack(s, d); });
//   auto r = (*log)->read(offset(0), 1 << 20);               // whole batches, for a fetch
//
// Owner and threading: one owner thread per partition (architecture.md, "one owner per
// partition"); every method must be called from it. The only other threads involved are the
// flusher's workers, which share `sync_target` (see flusher.h), including the work a roll
// leaves them (closures over the closed segment's file and copies of its index and producer
// snapshot bytes), and never touch the rest; and the flusher's cache trimmer, which gets paths
// and ranges of segment files and may set `sync_target::failed` (cache_trim.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"
#include "storage/flusher.h"
#include "storage/log_cleaner.h"
#include "storage/log_config.h"
#include "storage/producer_state.h"
#include "storage/segment.h"

namespace spate::storage {

// What opening a log found and did.
struct log_recovery_report {
  std::string dir;
  bool clean_shutdown = false;  // closed cleanly: only the index files were read
  size_t segments = 0;
  offset log_start;
  offset log_end;
  uint64_t size_bytes = 0;
  uint64_t bytes_scanned = 0;    // log bytes read to recover (0 after a clean shutdown)
  uint64_t truncated_bytes = 0;  // invalid tail cut away
  // Zeros removed from the end of a segment: preallocated space a crash left (or a size the
  // file system extended without the data). Not counted in truncated_bytes.
  uint64_t zero_tail_bytes = 0;
  size_t indexes_rebuilt = 0;
  size_t producers = 0;                    // idempotent producers with state
  uint64_t producer_batches_replayed = 0;  // batch headers read to rebuild their state
  std::vector<std::string> notes;          // one line per thing done, for the operator
};

struct append_result {
  offset base_offset;
  offset last_offset;
  offset next_offset;            // pass to when_durable
  timestamp_ms log_append_time;  // -1 unless the log uses LogAppendTime
  uint64_t size = 0;
  // The batch repeated one an idempotent producer already wrote: nothing was written and the
  // offsets are the original ones (kafka-compat.md §11.1).
  bool duplicate = false;
};

struct read_result {
  file_slice slice;  // whole batches; empty at the log end
  offset log_start;
  offset log_end;  // Kafka's high watermark on a single node
};

struct retention_report {
  size_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
  offset log_start;
};

class partition_log {
 public:
  // Opens (or creates) the log in `dir`, recovering it if it was not closed cleanly.
  static result<std::unique_ptr<partition_log>> open(io::filesystem& fs, const std::string& dir,
                                                     const log_config& config, flusher& flusher,
                                                     log_recovery_report* report = nullptr);
  ~partition_log();
  partition_log(const partition_log&) = delete;
  partition_log& operator=(const partition_log&) = delete;

  // Validates `batch`, assigns its offsets (rewriting its base offset in place), and writes
  // it. On any error nothing is written and the log is unchanged. A batch of an idempotent
  // producer is checked against its sequence state first (storage/producer_state.h): a
  // duplicate is answered with its original offsets, a gap or a fenced epoch is an error.
  result<append_result> append(mutable_bytes batch, timestamp_ms now);
  // Appends a batch the broker made itself (control batches are allowed).
  result<append_result> append_internal(mutable_bytes batch, timestamp_ms now);
  // Appends several batches, in order, with the result of each exactly as append() would give
  // it one by one (out[i] is batches[i]'s), but writes the accepted ones together: one
  // gathered write (pwritev) of the caller's buffers per run, so the batches an owner takes
  // in one turn cost one system call, not one each. A run ends early at a roll, before a
  // batch whose idempotent producer already has a batch in it (its sequence check must see
  // that one recorded), and before it would outgrow max_run_bytes (a batch larger than that
  // is a run of its own). A failed write fails every batch of its run and leaves none of them
  // in the log; the batches before and after the run are unaffected. The buffers must stay
  // valid until this returns.
  std::vector<result<append_result>> append_all(std::span<const mutable_bytes> batches,
                                                timestamp_ms now);
  static constexpr uint64_t max_run_bytes = 512 * 1024;

  // The page cache the process's logs keep of what they wrote (cache_trim.h). Each log keeps
  // a trailing window of budget / (open logs), at least min_cache_window: once its data lies
  // further behind its end than that by cache_step() (a quarter window, 1 to 64 MiB, so that
  // a thousand small windows do not make a job every few hundred KiB), the flusher's trimmer
  // evicts it (after starting its writeback: cache_trim.h). Tailing consumers read inside the
  // window; a consumer further behind reads from disk. 0 (the default here) keeps everything the
  // kernel keeps; the broker sets it (--page-cache-budget-mb). Returns the previous budget.
  static uint64_t set_page_cache_budget(uint64_t bytes);
  // The window each log keeps now: 0 when the budget is 0.
  static uint64_t cache_window();
  // Log objects alive in the process, which share the budget.
  static uint64_t logs_open();
  static uint64_t cache_step(uint64_t window);
  static constexpr uint64_t min_cache_window = 1 << 20;
  // A consumer that read from this log within the last second or two, from behind the
  // window, keeps what it has still to read cached: the window stretches back to it, up to
  // this many windows. A consumer further behind reads from disk, and what it read is
  // evicted a step behind it.
  static constexpr uint64_t max_reader_hold = 4;

  // Calls `cb` once the data below `end` meets the flush policy: on disk for `always` and
  // `interval`, at once (page cache) for `os`; or with the error that failed the log. Never
  // before the callbacks of earlier waiters; must not be called from inside a callback.
  void when_durable(offset end, durability_callback cb);
  // Syncs everything written, now, on this thread.
  status flush();

  // Whole batches starting with the one that holds `from`: at least one, more while they fit
  // in max_bytes. `from` == log_end gives an empty slice; outside [log_start, log_end] is
  // offset_out_of_range.
  result<read_result> read(offset from, uint64_t max_bytes);
  // The first record at or after the log start whose timestamp is >= t: its offset and its
  // timestamp (what ListOffsets answers); nullopt if there is none.
  result<std::optional<timestamp_and_offset>> offset_for_timestamp(timestamp_ms t);

  // Moves the log start offset to `new_start` (<= log_end), deleting segments wholly below.
  result<offset> delete_records(offset new_start);
  // Deletes the oldest closed segments that break retention.ms or retention.bytes.
  result<retention_report> apply_retention(timestamp_ms now);
  // Starts a new segment if the active one is non-empty (also done by size and age). The
  // closed segment's sync, index and the new segment's directory entry are left to the flusher
  // (flusher.h); roll() fails only if the new segment cannot be created.
  status roll();
  // Runs, on this thread, the work earlier rolls left to the flusher and it has not done yet
  // (waiting for a worker that is doing it). For retention, and for tests that look at files.
  void wait_for_rolls();

  // Persists indexes, syncs, and marks the log as cleanly closed. Further calls fail.
  status close();

  // Gives back the append ring of a log that appended nothing since the previous call: its
  // data is written into the segment (the page cache, which a process crash keeps as the ring
  // did), its file removed and its memory returned to the process's ring budget, so that
  // the busy logs of the moment hold the rings, not the ones that were busy first. The log
  // takes a ring again after another append_ring_bytes of appends. The broker calls it on
  // each owner every few seconds (--append-ring-idle-ms). Whether a ring was released.
  result<bool> release_idle_ring();
  bool has_ring() const { return _ring != nullptr; }

  // Compaction (storage/log_cleaner.h). plan_clean returns nullptr when the log is not
  // compacted or not dirty enough (`force` ignores min.cleanable.dirty.ratio); commit_clean
  // swaps in what the job wrote if the segments it read are all still there.
  result<std::unique_ptr<clean_job>> plan_clean(timestamp_ms now, bool force = false);
  status commit_clean(clean_job& job);
  // Everything below this offset has been cleaned at least once.
  offset cleaner_checkpoint() const { return _clean_checkpoint; }

  status set_config(const log_config& config);
  const log_config& config() const { return _config; }
  offset log_start() const { return _log_start; }
  offset log_end() const { return _log_end; }
  uint64_t size_bytes() const;
  size_t segment_count() const { return _segments.size(); }
  const std::string& dir() const { return _dir; }
  const producer_state& producers() const { return _producers; }
  // The error that made the log read-only, if any.
  std::optional<error> failure() const;

 private:
  partition_log(io::filesystem& fs, std::string dir, const log_config& config, flusher& flusher);
  status recover(log_recovery_report& report);
  std::vector<result<append_result>> append_group(std::span<const mutable_bytes> batches,
                                                  timestamp_ms now, bool internal);
  status maybe_roll(const batch_header& incoming);
  // Whether `incoming` must start a new segment, given the active segment's (non-empty)
  // size, first batch timestamp and end offset, counting batches not yet written.
  bool roll_due(const batch_header& incoming, uint64_t size, int64_t first_timestamp, offset end);
  // Opens the descriptors the flusher syncs the active segment with (flusher.h).
  result<std::vector<io::file_ptr>> sync_files_for(const segment& seg);
  status roll_locked();
  // After a write: hands the data that fell behind the page-cache window to the trimmer.
  void trim_cache();
  // After a read of `seg` from `position`: notes how far behind the end that reader is, and
  // evicts behind a replay of what the window no longer keeps.
  void note_reader(std::map<offset, std::unique_ptr<segment>>::const_iterator seg,
                   uint64_t position);
  // Starts a new second of reader positions; the one before it still counts.
  void rotate_reader_epoch();
  // Readies the active segment for its appends: under `always`, zero-filling ahead if the
  // config asks for it (the filling itself begins with the first append, zero_fill.h); under
  // the buffered policies, reserving blocks ahead (segment::set_reserve_ahead).
  void prepare_ahead();
  // Under the buffered policies, gives a log that has appended a ring's worth of data since it
  // was opened its append ring (append_ring.h), if the process's budget allows.
  void maybe_start_ring();
  // Writes the ring out, detaches it and removes its file (close, a switch to `always`). The
  // caller syncs the segment first when its data must be durable before the file goes.
  status release_ring();
  // Recovery: copies what the ring file holds past the active segment's valid end into the
  // segment, and scans it again.
  status restore_from_ring(offset base, std::unique_ptr<segment>& seg, log_recovery_report& report);
  std::string ring_path() const { return _dir + "/" + append_ring::file_name; }
  status write_meta();
  status fail(const error& e);
  segment& active() { return *_segments.rbegin()->second; }
  status remove_segments_below(offset start, retention_report* report);
  // Producer state: rebuilt at open from the newest good snapshot plus the batches after it,
  // saved at roll and close, pruned with the segments.
  status restore_producers(const std::vector<offset>& snapshots, log_recovery_report& report);
  void write_producer_snapshot();  // best-effort: see the definition
  static bool write_snapshot_file(io::filesystem& fs, const std::string& path, bytes_view bytes);
  void prune_producer_snapshots();
  // Finishes or discards a cleaner swap interrupted by a crash (log_cleaner.cc).
  status recover_swaps(log_recovery_report& report);
  void load_cleaner_checkpoint();
  status swap_in(clean_job& job, size_t group_index);

  io::filesystem& _fs;
  std::string _dir;
  log_config _config;
  flusher& _flusher;
  std::map<offset, std::unique_ptr<segment>> _segments;  // by base offset
  offset _log_start;
  offset _log_end;
  std::shared_ptr<sync_target> _sync;
  std::shared_ptr<append_ring> _ring;  // maybe_start_ring; bound to the active segment
  bool _ring_refused = false;          // the filesystem cannot map it: never again
  // Bytes appended since open or since the ring was last given back (release_idle_ring): a
  // log takes its ring once this reaches append_ring_bytes (or append_ring_after_bytes).
  uint64_t _ring_credit = 0;
  // _appended_bytes when release_idle_ring last looked.
  uint64_t _ring_idle_mark = 0;
  std::optional<error> _failed;
  bool _closed = false;
  producer_state _producers;
  std::vector<offset> _snapshots;  // offsets of the snapshot files on disk, ascending
  // Page cache handed to the trimmer (trim_cache): the active segment's data below this
  // position, and the part of the segment closed by the last roll not handed over yet.
  uint64_t _cache_trimmed_to = 0;
  struct closed_tail {
    std::string path;
    uint64_t from;
    uint64_t to;
  };
  std::optional<closed_tail> _cache_closed;
  // Bytes appended since open: the clock reader positions are kept in. _reader_low[1] is the
  // lowest position a read started from this epoch (a second, from _reader_epoch), [0] the
  // last epoch's; UINT64_MAX: no read.
  uint64_t _appended_bytes = 0;
  // A replay below the window (note_reader): the segment it read last, and how far the
  // eviction behind it has been handed to the trimmer.
  offset _replay_base = offset(-1);
  uint64_t _replay_to = 0;
  uint64_t _reader_low[2] = {UINT64_MAX, UINT64_MAX};
  mono_clock::time_point _reader_epoch{};
  offset _clean_checkpoint;  // see cleaner_checkpoint()
  // A swap failed after its commit point: the files are right, the segments in memory are the
  // old ones (still readable); cleaning stops until the next open completes the swap.
  bool _cleaner_stuck = false;
};

}  // namespace spate::storage
