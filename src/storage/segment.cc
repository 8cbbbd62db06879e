#include "storage/segment.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "base/crc32c.h"
#include "storage/errc.h"
#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {

// .index file, version 1 (docs/formats/index.md).
namespace index_file {
constexpr uint8_t magic[4] = {'S', 'P', 'I', 'X'};
constexpr uint16_t version = 1;
constexpr size_t header_size = 48;
constexpr size_t offset_entry_size = 8;
constexpr size_t time_entry_size = 12;
constexpr size_t trailer_size = 4;  // crc32c of everything before it
}  // namespace index_file

// Reads a file sequentially through a large buffer, for scans.
class chunk_reader {
 public:
  chunk_reader(io::file& f, uint64_t file_size) : _f(f), _file_size(file_size) {}

  // The bytes [pos, pos+n), or an empty view if the file ends first.
  result<bytes_view> get(uint64_t pos, size_t n) {
    if (pos + n > _file_size) return bytes_view{};
    if (pos < _start || pos + n > _start + _len) {
      size_t want = std::max<size_t>(n, chunk);
      want = static_cast<size_t>(std::min<uint64_t>(want, _file_size - pos));
      if (_buf.size() < want) _buf.resize(want);
      auto got = _f.read_at(pos, mutable_bytes(_buf.data(), want));
      if (!got) return got.error();
      _start = pos;
      _len = *got;
      if (_len < n) return bytes_view{};
    }
    return bytes_view(_buf.data() + (pos - _start), n);
  }

 private:
  static constexpr size_t chunk = 1 << 20;
  io::file& _f;
  uint64_t _file_size;
  byte_buffer _buf;
  uint64_t _start = 0;
  size_t _len = 0;
};

}  // namespace

std::string segment_file_name(offset base, const char* extension) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(base.value));
  return std::string(name) + extension;
}

segment::segment(io::filesystem& fs, std::string dir, offset base, uint32_t interval,
                 io::file_ptr log)
    : _fs(fs),
      _dir(std::move(dir)),
      _base(base),
      _index_interval(interval),
      _log(std::move(log)),
      _next(base) {}

segment::~segment() {
  // A job of the filler's thread may still be writing zeros into this file: it must not
  // outlive the segment's use of the file. (Removed files only make later jobs fail.)
  if (_zero) (void)zero_fill_stop(*_zero);
  (void)release_reserved();  // the budget only; blocks left are freed at the next open's roll
}

void segment::start_zero_fill(zero_filler& filler, uint64_t chunk, uint64_t limit) {
  if (_zero) return;
  _filler = &filler;
  // No job yet: the first append posts one (zero_fill.h). An idle segment costs no I/O.
  _zero = std::make_shared<zero_fill_state>(_fs, path(".log"), _size, chunk, limit);
}

status segment::stop_zero_fill() {
  if (!_zero) return ok();
  auto zero = std::move(_zero);
  return cut_zero_fill(*zero, *_log, _size);
}

std::shared_ptr<zero_fill_state> segment::release_zero_fill() {
  if (_zero) zero_fill_stop_soon(*_zero);
  return std::move(_zero);
}

status segment::cut_zero_fill(zero_fill_state& zero, io::file& log, uint64_t size) {
  if (!zero_fill_stop(zero)) return ok();  // never filled: the file ends at its data
  auto file_size = log.size();
  if (!file_size) return file_size.error();
  if (*file_size > size) SPATE_TRY(log.truncate(size));
  return ok();
}

std::string segment::path(const char* extension) const {
  return _dir + "/" + segment_file_name(_base, extension);
}

result<std::unique_ptr<segment>> segment::create(io::filesystem& fs, const std::string& dir,
                                                 offset base, uint32_t index_interval_bytes,
                                                 bool sync_dir) {
  std::string p = dir + "/" + segment_file_name(base, ".log");
  auto f = fs.open(p, io::open_mode::read_write_create);
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  if (*size != 0) SPATE_TRY((*f)->truncate(0));  // a leftover empty-named file from a crash
  if (sync_dir) SPATE_TRY(fs.sync_dir(dir));
  return std::unique_ptr<segment>(new segment(fs, dir, base, index_interval_bytes, *f));
}

result<std::unique_ptr<segment>> segment::open(io::filesystem& fs, const std::string& dir,
                                               offset base, uint32_t index_interval_bytes,
                                               uint64_t max_batch_bytes, bool scan,
                                               segment_open_report& report) {
  auto f = fs.open(dir + "/" + segment_file_name(base, ".log"), io::open_mode::read_write);
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  std::unique_ptr<segment> s(new segment(fs, dir, base, index_interval_bytes, *f));
  if (!scan) {
    std::string why;
    auto loaded = s->load_index(*size, why);
    if (!loaded) return loaded.error();
    if (why.empty()) return s;
    report.index_rebuilt = true;
    report.reason = why;
  }
  SPATE_TRY(s->scan(max_batch_bytes, report));
  if (!scan) {
    // A closed segment without a valid index may be one whose roll never got to sync it (a
    // crash before the flusher ran the roll's work): the index written here is trusted at the
    // next open, so the data it describes must be on disk first.
    SPATE_TRY(s->_log->sync_data());
    SPATE_TRY(s->persist_index());  // next open is fast again
  }
  return s;
}

result<std::unique_ptr<segment>> segment::adopt(io::filesystem& fs, const std::string& dir,
                                                offset base, uint32_t index_interval_bytes,
                                                uint64_t max_batch_bytes, io::file_ptr log) {
  std::unique_ptr<segment> s(new segment(fs, dir, base, index_interval_bytes, std::move(log)));
  segment_open_report report;
  SPATE_TRY(s->scan(max_batch_bytes, report));
  if (report.truncated_bytes > 0 || report.zero_tail_bytes > 0) {
    // The cleaner wrote and synced this file itself: anything invalid in it is a bug or a
    // failing disk, and must not replace good data.
    return error(errc::corrupt_batch, "cleaned segment " + s->path(".log") + ": " + report.reason);
  }
  return s;
}

void segment::note_batch(uint64_t position, const batch_header& h) {
  if (_bytes_since_index >= _index_interval) {
    uint32_t rel = static_cast<uint32_t>(h.base_offset - _base);
    _offset_index.push_back({rel, static_cast<uint32_t>(position)});
    if (_time_index.empty() || _max_timestamp > _time_index.back().timestamp) {
      _time_index.push_back({_max_timestamp, rel});
    }
    _bytes_since_index = 0;
  }
  _bytes_since_index += h.total_size();
  if (position == 0) _first_timestamp = h.max_timestamp.value;
  _max_timestamp = std::max(_max_timestamp, h.max_timestamp.value);
  _size = position + h.total_size();
  _next = h.next_offset();
  _recent[_recent_next] = batch_location{position, h};
  _recent_next = (_recent_next + 1) % recent_capacity;
  _recent_count = std::min(_recent_count + 1, recent_capacity);
}

const batch_location* segment::recent_at(uint64_t position) const {
  if (_recent_count == 0 || position < recent(0).position) return nullptr;
  // Ascending positions: binary search over the ring's logical order.
  size_t lo = 0, hi = _recent_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (recent(mid).position < position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < _recent_count && recent(lo).position == position) return &recent(lo);
  return nullptr;
}

const batch_location* segment::recent_holding(offset target) const {
  if (_recent_count == 0 || target < recent(0).header.base_offset) return nullptr;
  // The first recent batch whose last offset reaches the target (ascending offsets).
  size_t lo = 0, hi = _recent_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (recent(mid).header.last_offset() < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < _recent_count ? &recent(lo) : nullptr;
}

status segment::append(bytes_view batch, const batch_header& header) {
  return append(std::span<const bytes_view>(&batch, 1), std::span<const batch_header>(&header, 1));
}

status segment::append(std::span<const bytes_view> batches, std::span<const batch_header> headers) {
  SPATE_ASSERT(batches.size() == headers.size());
  SPATE_ASSERT(!_broken);
  if (batches.empty()) return ok();
  SPATE_ASSERT(headers.front().base_offset == _next);
  uint64_t end = _size;
  for (const auto& h : headers) end += h.total_size();
  if (_zero) zero_fill_before_write(*_zero, end);
  if (_reserve) reserve_for(end);
  if (_ring && _ring->takes(end - _size)) {
    // Into the ring: its writer puts the run in the file. A failure here is an earlier
    // write of the ring that failed, after its appends were answered: the log must fail.
    if (auto put = _ring->put(batches); !put) {
      _broken = true;
      return put;
    }
    record_run(headers);
    return ok();
  }
  if (_ring) {
    // Too large for the ring: written directly, after everything the ring holds.
    if (auto out = _ring->write_out(); !out) {
      _broken = true;
      return out;
    }
  }
  auto written = _log->write_gather_at(_size, batches);
  if (!written) {
    if (_zero) zero_fill_after_cut(*_zero, _size);
    (void)release_reserved();  // the cut below frees them
    // Nothing of a failed append may stay: a torn batch would be served, or cut by recovery
    // after later batches were acknowledged. The whole run goes, not just its torn tail: its
    // batches were not yet counted in the size, the indexes or the offsets, so every one of
    // them fails and none is half-recorded.
    if (!_log->truncate(_size)) _broken = true;
    return written;
  }
  record_run(headers);
  // The ring's next put goes after this run.
  if (_ring) _ring->bind(_log, _base, _size);
  return ok();
}

void segment::record_run(std::span<const batch_header> headers) {
  uint64_t old_size = _size;
  uint64_t position = _size;
  for (const auto& h : headers) {
    note_batch(position, h);
    position += h.total_size();
  }
  consume_reserved(old_size);
  if (_zero) _filler->maybe_fill(_zero, _size);
}

status segment::write_out_ring() const {
  if (!_ring || !_ring->pending()) return ok();
  return _ring->write_out();
}

status segment::written_up_to(uint64_t end) const {
  if (!_ring || _ring->written_end() >= end) return ok();
  return _ring->write_out();
}

namespace {
// Bytes reserved past the data of every segment in the process, and the most there may be:
// reserved blocks are disk space no other file can use, so on a nearly full disk many busy
// partitions must not hold gigabytes of it (an append elsewhere would fail with ENOSPC
// sooner). Past the budget a segment appends without reserving until space is handed back.
// The gauge spate_storage_reserved_ahead_bytes follows the total.
std::atomic<uint64_t> reserved_ahead_total{0};
std::atomic<uint64_t> reserved_ahead_budget{segment::default_reserve_budget};

// Takes `len` from the budget; false (and nothing taken) when it would go over.
bool take_reserved(uint64_t len) {
  if (reserved_ahead_total.fetch_add(len) + len > reserved_ahead_budget.load()) {
    reserved_ahead_total.fetch_sub(len);
    return false;
  }
  storage_metrics::get().reserved_ahead_bytes.add(static_cast<double>(len));
  return true;
}

void give_back_reserved(uint64_t len) {
  if (len == 0) return;
  reserved_ahead_total.fetch_sub(len);
  storage_metrics::get().reserved_ahead_bytes.add(-static_cast<double>(len));
}
}  // namespace

uint64_t segment::set_reserve_budget(uint64_t bytes) {
  return reserved_ahead_budget.exchange(bytes);
}

uint64_t segment::reserved_ahead_bytes() {
  return reserved_ahead_total.load();
}

void segment::reserve_for(uint64_t end) {
  // The window grows with the data: a segment holding N bytes reserves about N more, at
  // least the minimum and at most the maximum, and tops the reservation up when less than
  // half a window is left, so one fallocate covers many appends.
  auto round_up = [](uint64_t v) {
    return (v + reserve_window_min - 1) / reserve_window_min * reserve_window_min;
  };
  uint64_t window = round_up(std::clamp(end, reserve_window_min, reserve_window_max));
  if (end + window / 2 <= _reserved_end) return;
  uint64_t from = std::max(_reserved_end, _size);
  uint64_t to = round_up(end + window);
  uint64_t len = to - from;
  if (!take_reserved(len)) return;  // over the budget: appends go without until some is freed
  if (auto st = _log->reserve(from, len); !st) {
    give_back_reserved(len);
    // Unsupported here (tmpfs before 5.x, some network file systems) or no space: appends go
    // on without, and a full disk fails the write itself with ENOSPC. A failed fallocate may
    // still have allocated part of the range, so the file is cut back at roll or close.
    _reserve = false;
    _reserve_failed = true;
    _trim_needed = true;
    storage_metrics::get().reserve_failures.inc();
    return;
  }
  _reserved_end = to;
}

void segment::consume_reserved(uint64_t old_size) {
  if (_reserved_end <= old_size) return;
  give_back_reserved(std::min(_size, _reserved_end) - old_size);
}

bool segment::release_reserved() {
  bool trim = reserved_past_end();
  if (_reserved_end > _size) give_back_reserved(_reserved_end - _size);
  _reserved_end = 0;
  _trim_needed = false;
  return trim;
}

void segment::free_reserved() {
  // A truncate to the same size frees every block past it (ext4, xfs).
  if (release_reserved() && !_log->truncate(_size)) {
    storage_metrics::get().reserve_failures.inc();
  }
}

result<std::optional<batch_header>> segment::header_at(uint64_t position) const {
  if (position + batch_layout::header_size > _size) return std::optional<batch_header>{};
  if (auto st = written_up_to(position + batch_layout::header_size); !st) return st.error();
  uint8_t buf[batch_layout::header_size];
  auto n = _log->read_at(position, buf);
  if (!n) return n.error();
  if (*n < sizeof buf) return std::optional<batch_header>{};
  return std::optional<batch_header>(batch_header::parse(buf));
}

status segment::for_each_header(offset from,
                                const std::function<void(const batch_header&)>& fn) const {
  auto loc = locate(std::max(from, _base));
  if (!loc) return loc.error();
  if (!*loc) return ok();
  // Closed segments are not rescanned at open, so their bytes are checked here before they
  // steer the walk: a garbage length could loop forever or invent batches.
  offset expected = (*loc)->header.base_offset;
  for (uint64_t pos = (*loc)->position; pos < _size;) {
    auto h = header_at(pos);
    if (!h) return h.error();
    if (!*h) break;
    const batch_header& b = **h;
    if (b.total_size() < batch_layout::header_size || pos + b.total_size() > _size ||
        b.base_offset < expected || b.last_offset_delta < 0) {
      return error(errc::corrupt_batch, "implausible batch header at position " +
                                            std::to_string(pos) + " of " + path(".log"));
    }
    fn(b);
    expected = b.next_offset();
    pos += b.total_size();
  }
  return ok();
}

result<std::optional<batch_location>> segment::locate(offset target) const {
  if (target >= _next || target < _base) return std::optional<batch_location>{};
  if (auto* r = recent_holding(target)) return std::optional<batch_location>(*r);
  uint64_t pos = 0;
  uint32_t rel = static_cast<uint32_t>(target - _base);
  auto it = std::upper_bound(
      _offset_index.begin(), _offset_index.end(), rel,
      [](uint32_t r, const offset_index_entry& e) { return r < e.relative_offset; });
  if (it != _offset_index.begin()) pos = std::prev(it)->position;
  while (pos < _size) {
    auto h = header_at(pos);
    if (!h) return h.error();
    if (!*h) break;
    if ((*h)->last_offset() >= target)
      return std::optional<batch_location>(batch_location{pos, **h});
    pos += (*h)->total_size();
  }
  return std::optional<batch_location>{};
}

result<file_slice> segment::slice_from(uint64_t position, uint64_t max_bytes) const {
  file_slice s{_log, position, 0};
  uint64_t pos = position;
  while (pos < _size) {
    uint8_t len_buf[batch_layout::length_field_end];
    uint64_t batch_size;
    if (auto* r = recent_at(pos)) {
      batch_size = r->header.total_size();
    } else {
      if (auto st = written_up_to(pos + sizeof len_buf); !st) return st.error();
      auto n = _log->read_at(pos, len_buf);
      if (!n) return n.error();
      if (*n < sizeof len_buf) break;
      batch_size = batch_layout::length_field_end +
                   static_cast<uint32_t>(load_be<int32_t>(len_buf + batch_layout::batch_length));
    }
    if (s.size > 0 && s.size + batch_size > max_bytes) break;
    s.size += batch_size;
    pos += batch_size;
  }
  // The caller sends the slice from the file.
  if (auto st = written_up_to(s.position + s.size); !st) return st.error();
  return s;
}

result<std::optional<timestamp_and_offset>> segment::find_timestamp(timestamp_ms t,
                                                                    offset from) const {
  using found_t = std::optional<timestamp_and_offset>;
  if (_max_timestamp < t.value || from >= _next) return found_t{};
  if (auto st = write_out_ring(); !st) return st.error();
  // Start after every batch known to be entirely older than t.
  offset start = _base;
  auto it =
      std::lower_bound(_time_index.begin(), _time_index.end(), t.value,
                       [](const time_index_entry& e, int64_t ts) { return e.timestamp < ts; });
  if (it != _time_index.begin()) start = _base + std::prev(it)->relative_offset;
  // Records below `from` are deleted (below the log start): never the answer.
  start = std::max(start, from);
  auto loc = locate(start);
  if (!loc) return loc.error();
  if (!*loc) return found_t{};
  uint64_t pos = (*loc)->position;
  while (pos < _size) {
    auto h = header_at(pos);
    if (!h) return h.error();
    if (!*h) break;
    const batch_header& hd = **h;
    if (hd.max_timestamp >= t) {
      // LogAppendTime gives every record the batch's max timestamp: the first record still in
      // the log is the answer, without reading the records.
      if (hd.attributes & batch_attributes::timestamp_log_append) {
        return found_t(timestamp_and_offset{std::max(hd.base_offset, from), hd.max_timestamp});
      }
      byte_buffer batch(hd.total_size());
      auto n = _log->read_at(pos, batch);
      if (!n) return n.error();
      if (*n != batch.size()) break;
      // A compressed batch is decompressed, as Kafka's FileRecords.searchForTimestamp does, so
      // the answer is the exact record, not the batch's first.
      found_t found;
      SPATE_TRY(for_each_record(batch, [&](const record_view& r) {
        if (r.off >= from && r.timestamp >= t) {
          found = timestamp_and_offset{r.off, r.timestamp};
          return false;
        }
        return true;
      }));
      // Validation makes maxTimestamp the records' maximum, so only records below `from` can
      // have matched if none did here.
      if (found) return found;
    }
    pos += hd.total_size();
  }
  return found_t{};
}

status segment::scan(uint64_t max_batch_bytes, segment_open_report& report) {
  report.scanned = true;
  auto file_size = _log->size();
  if (!file_size) return file_size.error();
  _offset_index.clear();
  _time_index.clear();
  _bytes_since_index = 0;
  _max_timestamp = -1;
  _first_timestamp = -1;
  _size = 0;
  _next = _base;
  _recent_count = 0;
  chunk_reader reader(*_log, *file_size);
  uint64_t pos = 0;
  std::string stop_reason;
  while (pos < *file_size) {
    auto head = reader.get(pos, batch_layout::header_size);
    if (!head) return head.error();
    if (head->empty()) {
      stop_reason = "incomplete batch header";
      break;
    }
    // A batch larger than any we accept now may still be valid if limits were lowered.
    if (!plausible_header(*head, std::max<uint64_t>(max_batch_bytes, 1ull << 30))) {
      stop_reason = "invalid batch header";
      break;
    }
    auto h = batch_header::parse(*head);
    // Increasing, not contiguous: the cleaner removes whole batches (compaction.md).
    if (h.base_offset < _next) {
      stop_reason = "batch base offset " + std::to_string(h.base_offset.value) + ", expected " +
                    std::to_string(_next.value);
      break;
    }
    auto whole = reader.get(pos, h.total_size());
    if (!whole) return whole.error();
    if (whole->empty()) {
      stop_reason = "incomplete batch";
      break;
    }
    if (!crc_matches(*whole)) {
      stop_reason = "CRC-32C mismatch";
      break;
    }
    note_batch(pos, h);
    pos += h.total_size();
  }
  if (pos < *file_size) {
    SPATE_TRY(cut_tail(pos, *file_size, stop_reason, report));
  }
  return ok();
}

status segment::cut_tail(uint64_t pos, uint64_t file_size, const std::string& stop_reason,
                         segment_open_report& report) {
  // Only zeros from here to the end: space zero-filled ahead of the data (or extended by the
  // file system without the data), not a torn or corrupt batch. Removed all the same, and
  // reported apart.
  bool zeros = true;
  byte_buffer buf(std::min<uint64_t>(file_size - pos, 1 << 20));
  for (uint64_t at = pos; zeros && at < file_size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), file_size - at));
    auto n = _log->read_at(at, mutable_bytes(buf).first(want));
    if (!n) return n.error();
    if (*n == 0) break;
    zeros = std::all_of(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*n),
                        [](uint8_t b) { return b == 0; });
    at += *n;
  }
  if (zeros) {
    report.zero_tail_bytes = file_size - pos;
    if (!report.reason.empty()) report.reason += "; ";
    report.reason += "removed a zero tail of " + std::to_string(file_size - pos) +
                     " bytes at position " + std::to_string(pos);
    SPATE_TRY(_log->truncate(pos));
    SPATE_TRY(_log->sync_data());
    return ok();
  }
  report.truncated_bytes = file_size - pos;
  if (!report.reason.empty()) report.reason += "; ";
  report.reason += "cut " + std::to_string(file_size - pos) + " bytes at position " +
                   std::to_string(pos) + " (" + stop_reason + ")";
  SPATE_TRY(_log->truncate(pos));
  SPATE_TRY(_log->sync_data());
  return ok();
}

status segment::persist_index() {
  return write_index(_fs, path(".index"), index_bytes());
}

byte_buffer segment::index_bytes() const {
  // Starts from the magic rather than inserting it into an empty buffer: g++ 12 warns (a false
  // stringop-overflow) about the insert once this is inlined into its callers.
  byte_buffer out(std::begin(index_file::magic), std::end(index_file::magic));
  out.reserve(index_file::header_size + _offset_index.size() * index_file::offset_entry_size +
              _time_index.size() * index_file::time_entry_size + index_file::trailer_size);
  append_be<uint16_t>(out, index_file::version);
  append_be<uint16_t>(out, 0);
  append_be<int64_t>(out, _base.value);
  append_be<int64_t>(out, _next.value);
  append_be<uint64_t>(out, _size);
  append_be<int64_t>(out, _max_timestamp);
  append_be<uint32_t>(out, static_cast<uint32_t>(_offset_index.size()));
  append_be<uint32_t>(out, static_cast<uint32_t>(_time_index.size()));
  for (auto& e : _offset_index) {
    append_be<uint32_t>(out, e.relative_offset);
    append_be<uint32_t>(out, e.position);
  }
  for (auto& e : _time_index) {
    append_be<int64_t>(out, e.timestamp);
    append_be<uint32_t>(out, e.relative_offset);
  }
  append_be<uint32_t>(out, crc32c::value(out));
  return out;
}

status segment::write_index(io::filesystem& fs, const std::string& path, bytes_view bytes) {
  auto f = fs.open(path, io::open_mode::read_write_create);
  if (!f) return f.error();
  SPATE_TRY((*f)->truncate(0));
  SPATE_TRY((*f)->write_at(0, bytes));
  return (*f)->sync_data();
}

status segment::load_index(uint64_t log_size, std::string& why_not) {
  auto exists = _fs.exists(path(".index"));
  if (!exists) return exists.error();
  if (!*exists) {
    why_not = "index file missing";
    return ok();
  }
  auto content = io::read_whole_file(_fs, path(".index"));
  if (!content) return content.error();
  bytes_view b = *content;
  if (b.size() < index_file::header_size + index_file::trailer_size ||
      !std::equal(std::begin(index_file::magic), std::end(index_file::magic), b.begin())) {
    why_not = "index file too short or not an index";
    return ok();
  }
  uint32_t stored_crc = load_be<uint32_t>(b.data() + b.size() - 4);
  if (crc32c::value(b.first(b.size() - 4)) != stored_crc) {
    why_not = "index checksum mismatch";
    return ok();
  }
  if (read_be<uint16_t>(b, 4) != index_file::version) {
    why_not = "unknown index version " + std::to_string(read_be<uint16_t>(b, 4));
    return ok();
  }
  offset base(read_be<int64_t>(b, 8));
  offset next(read_be<int64_t>(b, 16));
  uint64_t size = read_be<uint64_t>(b, 24);
  int64_t max_ts = read_be<int64_t>(b, 32);
  uint32_t n_off = read_be<uint32_t>(b, 40);
  uint32_t n_time = read_be<uint32_t>(b, 44);
  if (base != _base || size != log_size || next < base ||
      b.size() != index_file::header_size + n_off * index_file::offset_entry_size +
                      n_time * index_file::time_entry_size + index_file::trailer_size) {
    why_not = "index disagrees with the log (size " + std::to_string(size) + " vs " +
              std::to_string(log_size) + ")";
    return ok();
  }
  std::vector<offset_index_entry> offs(n_off);
  std::vector<time_index_entry> times(n_time);
  size_t p = index_file::header_size;
  for (auto& e : offs) {
    e.relative_offset = read_be<uint32_t>(b, p);
    e.position = read_be<uint32_t>(b, p + 4);
    p += index_file::offset_entry_size;
  }
  for (auto& e : times) {
    e.timestamp = read_be<int64_t>(b, p);
    e.relative_offset = read_be<uint32_t>(b, p + 8);
    p += index_file::time_entry_size;
  }
  for (size_t i = 0; i < offs.size(); ++i) {
    bool ordered = i == 0 || (offs[i].relative_offset > offs[i - 1].relative_offset &&
                              offs[i].position > offs[i - 1].position);
    if (!ordered || offs[i].position >= size || base + offs[i].relative_offset >= next) {
      why_not = "index entry " + std::to_string(i) + " out of order or out of bounds";
      return ok();
    }
  }
  for (size_t i = 0; i < times.size(); ++i) {
    if ((i > 0 && times[i].timestamp <= times[i - 1].timestamp) ||
        base + times[i].relative_offset >= next) {
      why_not = "time index entry " + std::to_string(i) + " out of order or out of bounds";
      return ok();
    }
  }
  _next = next;
  _size = size;
  _max_timestamp = max_ts;
  _offset_index = std::move(offs);
  _time_index = std::move(times);
  if (_size > 0) {
    auto first = header_at(0);
    if (!first) return first.error();
    // A cleaned segment may have lost its first batches, never gained earlier ones.
    if (!*first || (*first)->base_offset < _base) {
      why_not = "first batch starts below the segment's base offset";
      return ok();
    }
    _first_timestamp = (*first)->max_timestamp.value;
  }
  // Spot check: the last indexed batch must be where the index says.
  if (!_offset_index.empty()) {
    auto h = header_at(_offset_index.back().position);
    if (!h) return h.error();
    if (!*h || (*h)->base_offset != _base + _offset_index.back().relative_offset) {
      why_not = "last index entry does not point at its batch";
      return ok();
    }
  }
  return ok();
}

status segment::remove_files() {
  SPATE_TRY(_fs.remove_file(path(".log")));
  auto idx = _fs.exists(path(".index"));
  if (idx && *idx) SPATE_TRY(_fs.remove_file(path(".index")));
  return ok();
}

}  // namespace spate::storage
