// One segment of a partition log: a `.log` file of record batches stored exactly as produced
// (base offsets assigned), and its sparse indexes. File formats: docs/formats/segment.md and
// docs/formats/index.md.
//
// The indexes of the active segment live in memory and are written to the `.index` file when
// the segment is rolled or the log is closed cleanly; after a crash they are rebuilt by the
// scan that recovery does anyway. A closed segment's index is loaded at open and checked
// against its log (size, checksum, bounds); one that disagrees is rebuilt from the log.
//
// Owned by its partition_log and used only on that log's owner thread, except the log file
// handle, which the group-commit flusher syncs concurrently (io/file.h allows it).
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "io/file.h"
#include "storage/append_ring.h"
#include "storage/record_batch.h"
#include "storage/zero_fill.h"

namespace spate::storage {

struct offset_index_entry {
  uint32_t relative_offset;  // batch base offset - segment base offset
  uint32_t position;         // byte position of that batch in the .log file
};

// (timestamp, relative_offset): every batch before `relative_offset` has a max timestamp of
// at most `timestamp`. So the first record at or after time T is never before the last entry
// whose timestamp is below T. Timestamps strictly increase along the index.
struct time_index_entry {
  int64_t timestamp;
  uint32_t relative_offset;
};

// Where a batch sits in a segment.
struct batch_location {
  uint64_t position;
  batch_header header;
};

// A record found by time: its offset and its timestamp (Kafka's TimestampAndOffset). Under
// LogAppendTime every record of a batch has the batch's max timestamp.
struct timestamp_and_offset {
  offset off;
  timestamp_ms timestamp;
};

// What opening a segment found and did, for the recovery report.
struct segment_open_report {
  uint64_t truncated_bytes = 0;  // invalid tail cut from the log
  // A tail of zeros removed: space preallocated ahead of the data (log_config::
  // preallocate_bytes) that a crash left before roll or close cut it, or, without
  // preallocation, a size the file system extended without the data reaching the disk.
  uint64_t zero_tail_bytes = 0;
  bool scanned = false;        // the log was read batch by batch
  bool index_rebuilt = false;  // the index file was missing or disagreed with the log
  std::string reason;          // why it was truncated or rebuilt
};

// A contiguous run of whole batches in one segment file: what a fetch sends.
struct file_slice {
  io::file_ptr file;
  uint64_t position = 0;
  uint64_t size = 0;
};

std::string segment_file_name(offset base, const char* extension);

class segment {
 public:
  // Creates the files of a new, empty segment starting at `base`.
  // With `sync_dir` false the directory entry is left for the caller to make durable (a roll
  // leaves it to the flusher, partition_log::roll_locked).
  static result<std::unique_ptr<segment>> create(io::filesystem& fs, const std::string& dir,
                                                 offset base, uint32_t index_interval_bytes,
                                                 bool sync_dir = true);
  // Opens an existing segment. With `scan`, the log is read batch by batch, a torn or corrupt
  // tail is truncated, and the index rebuilt in memory (recovery of an active segment).
  // Without it the index file is trusted if it agrees with the log, and rebuilt otherwise.
  static result<std::unique_ptr<segment>> open(io::filesystem& fs, const std::string& dir,
                                               offset base, uint32_t index_interval_bytes,
                                               uint64_t max_batch_bytes, bool scan,
                                               segment_open_report& report);

  // A segment over `log`, a file the cleaner wrote (under another name until the swap; see
  // log_cleaner.h): scanned to build the indexes in memory. The file must be wholly valid.
  static result<std::unique_ptr<segment>> adopt(io::filesystem& fs, const std::string& dir,
                                                offset base, uint32_t index_interval_bytes,
                                                uint64_t max_batch_bytes, io::file_ptr log);

  offset base() const { return _base; }
  offset next_offset() const { return _next; }
  uint64_t size() const { return _size; }
  bool empty() const { return _size == 0; }
  // The largest batch max timestamp in the segment (-1 if empty or no timestamps).
  timestamp_ms max_timestamp() const { return timestamp_ms(_max_timestamp); }
  mono_clock::time_point created() const { return _created; }
  // The max timestamp of the first batch (-1 if empty or unknown): what segment.ms counts
  // from, as in Kafka, so that a restart does not reset a segment's age.
  int64_t first_timestamp() const { return _first_timestamp; }
  const io::file_ptr& log_file() const { return _log; }
  const std::vector<offset_index_entry>& offset_index() const { return _offset_index; }
  const std::vector<time_index_entry>& time_index() const { return _time_index; }

  // Appends a validated batch whose base offset is set to next_offset(). On failure the log
  // file is cut back to its previous size; if even that fails, broken() becomes true.
  status append(bytes_view batch, const batch_header& header);
  // The same for a run of batches with consecutive offsets (headers[i] describes batches[i]),
  // written with one gathered write from the caller's buffers. All or nothing: on failure
  // the file is cut back to its size before the run, so no batch of it stays, whole or torn.
  status append(std::span<const bytes_view> batches, std::span<const batch_header> headers);
  bool broken() const { return _broken; }
  // The append ring the active segment's appends go through under the buffered policies
  // (append_ring.h), already bound to this file at size(); nullptr: appends write the file
  // directly. A run larger than half the ring is written directly once the ring is written
  // out. Reads of the file write the ring out first. Owner thread.
  void set_ring(std::shared_ptr<append_ring> ring) { _ring = std::move(ring); }
  // Writes out what the ring holds for this segment, so that the file has every batch.
  status write_out_ring() const;

  // Zero-fills the file ahead of the appends, in chunks of `chunk` bytes on `filler`'s
  // thread, never at or past `limit` (zero_fill.h), from the first append on: nothing is
  // written here. Owner thread.
  void start_zero_fill(zero_filler& filler, uint64_t chunk, uint64_t limit);
  // Stops the filling and cuts the file back to size() (close). Owner thread; waits for the
  // piece of zeros being written, if any.
  status stop_zero_fill();
  // Stops the filling without waiting and hands over its state (nullptr if there was none), for
  // a roll: its work, off the owner thread, passes it to cut_zero_fill. Owner thread.
  std::shared_ptr<zero_fill_state> release_zero_fill();
  // Waits until `zero` (from release_zero_fill) writes no more zeros, then cuts `log` back to
  // `size`, the segment's data, if zeros were written past it. Any thread.
  static status cut_zero_fill(zero_fill_state& zero, io::file& log, uint64_t size);

  // Reserves disk blocks ahead of the appends (io::file::reserve: fallocate, keeping the
  // size), for the buffered flush policies. A write into reserved blocks skips the file
  // system's block reservation for delayed allocation: 12-14 % less CPU per MB written to the
  // page cache on this machine's ext4 at every write size (bench/RESULTS.md). Not for
  // `always`: an fdatasync that must also convert the reserved (unwritten) extents took
  // longer. The window ahead grows with the segment, up to reserve_window_max, so that a
  // partition that gets little data reserves little. Owner thread.
  // All segments of the process together hold at most a budget reserved past their data
  // (256 MiB; set_reserve_budget), so that on a nearly full disk reservations cannot take
  // the space other files' appends need.
  // After a failed reservation the segment never tries again.
  void set_reserve_ahead(bool on) { _reserve = on && !_reserve_failed; }
  // Whether blocks may be reserved past size(): the file needs a truncate to its size to
  // free them (roll, close). Owner thread.
  bool reserved_past_end() const { return _reserved_end > _size || _trim_needed; }
  // A segment reopened after a crash may hold blocks an earlier process reserved: its roll
  // or close then frees them too. Owner thread.
  void note_reserved_by_earlier_process() { _trim_needed = true; }
  // Stops counting this segment's reservation and returns reserved_past_end() as it was, for
  // a roll, whose work then truncates the closed file. Owner thread.
  bool release_reserved();
  // release_reserved, then frees the blocks (a truncate to size(): close, or a switch to
  // `always`). Failures only count: they cost disk space until the segment is deleted,
  // never data.
  void free_reserved();
  static constexpr uint64_t reserve_window_min = 64 * 1024;
  static constexpr uint64_t reserve_window_max = 8 * 1024 * 1024;
  static constexpr uint64_t default_reserve_budget = 256ull << 20;
  // The most all segments of the process may hold reserved past their data (default above);
  // returns the previous budget. A lower budget applies to reservations made from now on.
  // Any thread.
  static uint64_t set_reserve_budget(uint64_t bytes);
  // What all segments of the process hold reserved past their data now. Any thread.
  static uint64_t reserved_ahead_bytes();
  ~segment();

  // The batch that holds `target`, or nullopt if target >= next_offset().
  result<std::optional<batch_location>> locate(offset target) const;
  // Whole batches from `position` (a batch start): at least the first, then as many more as
  // fit in max_bytes.
  result<file_slice> slice_from(uint64_t position, uint64_t max_bytes) const;
  // The first record at or after `from` whose timestamp is >= t, with that timestamp (see
  // partition_log::offset_for_timestamp). Compressed batches are decompressed to find it.
  result<std::optional<timestamp_and_offset>> find_timestamp(timestamp_ms t, offset from) const;

  // Calls `fn` with the header of every batch from the one holding `from` to the end, in
  // order (what the producer-state replay after a restart reads: 61 bytes per batch).
  status for_each_header(offset from, const std::function<void(const batch_header&)>& fn) const;

  status sync() {
    SPATE_TRY(write_out_ring());
    return _log->sync_data();
  }
  // Writes the .index file (both indexes) and syncs it.
  status persist_index();
  // The same in two steps: the bytes (taken on the owner thread) and writing them (on any
  // thread; a roll leaves it to the flusher, after the log file itself is synced).
  byte_buffer index_bytes() const;
  static status write_index(io::filesystem& fs, const std::string& path, bytes_view bytes);
  std::string index_path() const { return path(".index"); }
  status remove_files();

 private:
  segment(io::filesystem& fs, std::string dir, offset base, uint32_t interval, io::file_ptr log);
  // Reads the header at `position`; nullopt past the end.
  result<std::optional<batch_header>> header_at(uint64_t position) const;
  status load_index(uint64_t log_size, std::string& why_not);
  // Reads the log batch by batch; cuts an invalid tail; rebuilds the indexes.
  status scan(uint64_t max_batch_bytes, segment_open_report& report);
  // Removes [pos, file_size) after a scan stopped at pos, reporting it as a zero tail or cut.
  status cut_tail(uint64_t pos, uint64_t file_size, const std::string& stop_reason,
                  segment_open_report& report);
  void note_batch(uint64_t position, const batch_header& h);
  // Records a run just written (or put into the ring): indexes, size, reservation, zero-fill.
  void record_run(std::span<const batch_header> headers);
  std::string path(const char* extension) const;

  io::filesystem& _fs;
  std::string _dir;
  offset _base;
  uint32_t _index_interval;
  io::file_ptr _log;
  offset _next;
  uint64_t _size = 0;
  int64_t _max_timestamp = -1;
  int64_t _first_timestamp = -1;
  uint64_t _bytes_since_index = 0;
  // The last batches appended or scanned, oldest first in ring order, so that a tailing
  // fetch finds its batch and the sizes of those after it without reading the file: with only
  // the last batch kept, a consumer one batch or more behind cost a pread per batch header
  // (B4, 10 k one-record batches/s: 0.6 pread per message). 16 x 80 bytes per segment.
  static constexpr size_t recent_capacity = 16;
  std::array<batch_location, recent_capacity> _recent{};
  size_t _recent_count = 0;
  size_t _recent_next = 0;                        // the slot the next batch goes to
  const batch_location& recent(size_t i) const {  // i-th oldest of the _recent_count
    return _recent[(_recent_next + recent_capacity - _recent_count + i) % recent_capacity];
  }
  // The recent batch that starts at `position` or holds `target`; nullptr when not recent.
  const batch_location* recent_at(uint64_t position) const;
  const batch_location* recent_holding(offset target) const;
  std::vector<offset_index_entry> _offset_index;
  std::vector<time_index_entry> _time_index;
  mono_clock::time_point _created = mono_clock::now();
  bool _broken = false;
  std::shared_ptr<zero_fill_state> _zero;  // set while zero-filling ahead
  zero_filler* _filler = nullptr;
  void reserve_for(uint64_t end);
  // After an append that began at `old_size`: the part of the reservation it used.
  void consume_reserved(uint64_t old_size);
  bool _reserve = false;         // set_reserve_ahead
  bool _reserve_failed = false;  // a reservation failed: never again for this segment
  bool _trim_needed = false;     // blocks may lie past the data that _reserved_end does not cover
  uint64_t _reserved_end = 0;    // blocks reserved up to here (0: none past the data)
  std::shared_ptr<append_ring> _ring;  // set_ring
  // Writes the ring out if it has not yet written the file up to `end`.
  status written_up_to(uint64_t end) const;
};

}  // namespace spate::storage
