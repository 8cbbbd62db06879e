#include "storage/partition_log.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "base/crc32c.h"
#include "storage/errc.h"
#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {

// partition.meta and clean_shutdown, version 1 (docs/formats/partition.md).
constexpr const char* meta_name = "partition.meta";
constexpr const char* clean_name = "clean_shutdown";
constexpr uint8_t meta_magic[4] = {'S', 'P', 'P', 'M'};
constexpr uint8_t clean_magic[4] = {'S', 'P', 'C', 'S'};
constexpr uint16_t meta_version = 1;

byte_buffer seal(const uint8_t (&magic)[4], std::initializer_list<int64_t> fields) {
  byte_buffer out(std::begin(magic), std::end(magic));
  append_be<uint16_t>(out, meta_version);
  append_be<uint16_t>(out, 0);
  for (int64_t f : fields) append_be<int64_t>(out, f);
  append_be<uint32_t>(out, crc32c::value(out));
  return out;
}

// The fields of a sealed file, or nullopt if it is not one (wrong magic, size, checksum or
// version).
std::optional<std::vector<int64_t>> unseal(bytes_view b, const uint8_t (&magic)[4],
                                           size_t n_fields) {
  if (b.size() != 8 + 8 * n_fields + 4) return std::nullopt;
  if (!std::equal(std::begin(magic), std::end(magic), b.begin())) return std::nullopt;
  if (crc32c::value(b.first(b.size() - 4)) != load_be<uint32_t>(b.data() + b.size() - 4)) {
    return std::nullopt;
  }
  if (read_be<uint16_t>(b, 4) != meta_version) return std::nullopt;
  std::vector<int64_t> fields(n_fields);
  for (size_t i = 0; i < n_fields; ++i) fields[i] = read_be<int64_t>(b, 8 + 8 * i);
  return fields;
}

// "00000000000000000042.log" -> 42.
std::optional<offset> parse_segment_name(const std::string& name, const std::string& ext) {
  if (name.size() != 20 + ext.size() || name.compare(20, ext.size(), ext) != 0) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    if (v > (INT64_MAX - (name[i] - '0')) / 10) return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return offset(v);
}

std::atomic<uint64_t> page_cache_budget{0};
// 64 KiB: a page on every Linux port, so a range rounded to it ends at a page boundary.
uint64_t round_up_to_page(uint64_t pos) {
  return (pos + 0xffff) & ~uint64_t{0xffff};
}
std::atomic<uint64_t> logs_alive{0};  // the budget's share is per log object, open or closing

}  // namespace

uint64_t partition_log::set_page_cache_budget(uint64_t bytes) {
  return page_cache_budget.exchange(bytes, std::memory_order_relaxed);
}

uint64_t partition_log::logs_open() {
  return logs_alive.load(std::memory_order_relaxed);
}

uint64_t partition_log::cache_window() {
  uint64_t budget = page_cache_budget.load(std::memory_order_relaxed);
  if (budget == 0) return 0;
  uint64_t logs = std::max<uint64_t>(1, logs_alive.load(std::memory_order_relaxed));
  return std::max(min_cache_window, budget / logs);
}

uint64_t partition_log::cache_step(uint64_t window) {
  return std::clamp<uint64_t>(window / 4, 1 << 20, 64ull << 20);
}

partition_log::partition_log(io::filesystem& fs, std::string dir, const log_config& config,
                             flusher& flusher)
    : _fs(fs),
      _dir(std::move(dir)),
      _config(config),
      _flusher(flusher),
      _sync(std::make_shared<sync_target>()) {
  logs_alive.fetch_add(1, std::memory_order_relaxed);
}

partition_log::~partition_log() {
  if (!_closed) (void)close();
  logs_alive.fetch_sub(1, std::memory_order_relaxed);
}

void partition_log::rotate_reader_epoch() {
  auto now = mono_clock::now();
  if (now - _reader_epoch < std::chrono::seconds(1)) return;
  // A reader seen in neither this epoch nor the last one holds nothing back any more.
  _reader_low[0] = now - _reader_epoch < std::chrono::seconds(2) ? _reader_low[1] : UINT64_MAX;
  _reader_low[1] = UINT64_MAX;
  _reader_epoch = now;
}

void partition_log::note_reader(std::map<offset, std::unique_ptr<segment>>::const_iterator seg,
                                uint64_t position) {
  // How far behind the end the read started: within the active segment or the one closed
  // last (the only ones the window covers); from further back, as far as can be.
  uint64_t behind = _appended_bytes;
  auto next = std::next(seg);
  if (next == _segments.end()) {
    behind = seg->second->size() - std::min(position, seg->second->size());
  } else if (std::next(next) == _segments.end()) {
    behind = seg->second->size() - std::min(position, seg->second->size()) + next->second->size();
  }
  rotate_reader_epoch();
  // Only a reader the window may stretch back to counts; one further behind is a replay.
  const uint64_t window = cache_window();
  if (behind <= window * max_reader_hold) {
    _reader_low[1] = std::min(_reader_low[1], _appended_bytes - std::min(behind, _appended_bytes));
  }

  // A read from below what the window keeps replays history: what the reads there brought
  // into the cache is evicted a step behind them, so that replaying a long log does not grow
  // the cache (into untouched memory, on these VMs) without bound either.
  const bool is_active = next == _segments.end();
  const bool pending_tail = _cache_closed && !is_active && std::next(next) == _segments.end();
  const bool below = is_active      ? position < _cache_trimmed_to
                     : pending_tail ? position < _cache_closed->from
                                    : true;
  if (!below) return;
  const uint64_t step = cache_step(window);
  const uint64_t to = position > step ? position - step : 0;
  if (_replay_base != seg->first) {
    // Another segment: start over (evicting what is gone already costs nothing).
    _replay_base = seg->first;
    _replay_to = 0;
  }
  // A second reader behind the first in the same segment evicts nothing: the one ahead has
  // (and its reads from disk now are what a replay costs).
  if (to >= _replay_to + step) {
    _flusher.cache_trim().post(_fs, seg->second->log_file()->path(), _replay_to, to, _sync);
    _replay_to = to;
  }
}

void partition_log::trim_cache() {
  const uint64_t window = cache_window();
  if (window == 0) return;
  const uint64_t step = cache_step(window);
  // What stays cached: the window, or back to a recent reader behind it (max_reader_hold).
  rotate_reader_epoch();
  uint64_t keep = window;
  if (uint64_t low = std::min(_reader_low[0], _reader_low[1]); low != UINT64_MAX) {
    keep = std::clamp(_appended_bytes - std::min(low, _appended_bytes), window,
                      window * max_reader_hold);
  }
  cache_trimmer& trimmer = _flusher.cache_trim();
  const segment& seg = active();
  const uint64_t size = seg.size();
  _cache_trimmed_to = std::min(_cache_trimmed_to, size);  // a failed write may have cut it
  if (_cache_closed) {
    // The closed segment's last `inside` bytes are still to be kept.
    closed_tail& c = *_cache_closed;
    uint64_t inside = keep > size ? keep - size : 0;
    uint64_t behind = c.to > inside ? c.to - inside : 0;
    if (behind >= c.from + step || (inside == 0 && behind > c.from)) {
      // At the file's end, past its partial last page (the file will not grow again).
      trimmer.post(_fs, c.path, c.from, behind == c.to ? round_up_to_page(behind) : behind, _sync);
      c.from = behind;
    }
    if (c.from >= c.to) _cache_closed.reset();
  }
  // Only what is in the file: pages the ring writes after their range was evicted would stay
  // cached.
  uint64_t in_file = _ring ? std::min(size, _ring->written_end()) : size;
  if (size >= keep) {
    uint64_t to = std::min(size - keep, in_file);
    if (to >= _cache_trimmed_to + step) {
      trimmer.post(_fs, seg.log_file()->path(), _cache_trimmed_to, to, _sync);
      _cache_trimmed_to = to;
    }
  }
}

result<std::unique_ptr<partition_log>> partition_log::open(io::filesystem& fs,
                                                           const std::string& dir,
                                                           const log_config& config,
                                                           flusher& flusher,
                                                           log_recovery_report* report) {
  SPATE_TRY(config.validate());
  SPATE_TRY(fs.create_dirs(dir));
  std::unique_ptr<partition_log> log(new partition_log(fs, dir, config, flusher));
  log_recovery_report local;
  log_recovery_report& r = report ? *report : local;
  r = log_recovery_report{};
  r.dir = dir;
  auto st = log->recover(r);
  if (!st) {
    log->_closed = true;  // nothing to write back
    return std::move(st).error().with_context("recovering " + dir);
  }
  return log;
}

status partition_log::recover(log_recovery_report& report) {
  SPATE_TRY(recover_swaps(report));
  auto names = _fs.list_dir(_dir);
  if (!names) return names.error();
  std::vector<offset> bases;
  std::vector<offset> index_bases;
  std::vector<offset> snapshots;
  for (auto& name : *names) {
    if (auto b = parse_segment_name(name, ".log")) {
      bases.push_back(*b);
    } else if (auto ib = parse_segment_name(name, ".index")) {
      index_bases.push_back(*ib);
    } else if (auto sb = parse_segment_name(name, ".snapshot")) {
      snapshots.push_back(*sb);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      SPATE_TRY(_fs.remove_file(_dir + "/" + name));  // an interrupted atomic write
    }
  }
  std::sort(bases.begin(), bases.end());
  // An index whose log is gone (a deletion interrupted by a crash) is removed.
  for (offset ib : index_bases) {
    if (!std::binary_search(bases.begin(), bases.end(), ib)) {
      SPATE_TRY(_fs.remove_file(_dir + "/" + segment_file_name(ib, ".index")));
      report.notes.push_back("removed orphan index " + segment_file_name(ib, ".index"));
    }
  }

  // The log start offset (moved by delete_records and retention).
  _log_start = bases.empty() ? offset(0) : bases.front();
  auto meta_exists = _fs.exists(_dir + "/" + meta_name);
  if (!meta_exists) return meta_exists.error();
  if (*meta_exists) {
    auto content = io::read_whole_file(_fs, _dir + "/" + meta_name);
    if (!content) return content.error();
    if (content->size() >= 6 && load_be<uint16_t>(content->data() + 4) > meta_version &&
        std::equal(std::begin(meta_magic), std::end(meta_magic), content->begin())) {
      // Written by a newer Spate: guessing could re-expose deleted records.
      return error(errc::corrupt_metadata,
                   std::string(meta_name) + " has a newer format version " +
                       std::to_string(load_be<uint16_t>(content->data() + 4)) +
                       "; upgrade Spate to open this folder");
    }
    auto fields = unseal(*content, meta_magic, 1);
    if (!fields) {
      // Only the log start offset lives here; falling back to the first segment keeps every
      // record and may re-expose records deleted by delete_records. Say so.
      report.notes.push_back(std::string(meta_name) +
                             " is corrupt; log start offset falls back to the first segment");
    } else {
      _log_start = std::max(_log_start, offset((*fields)[0]));
    }
  }

  // A clean-shutdown marker that matches the active segment spares the scan.
  std::optional<std::pair<offset, uint64_t>> clean;
  auto clean_exists = _fs.exists(_dir + "/" + clean_name);
  if (!clean_exists) return clean_exists.error();
  if (*clean_exists) {
    auto content = io::read_whole_file(_fs, _dir + "/" + clean_name);
    if (!content) return content.error();
    if (auto fields = unseal(*content, clean_magic, 2)) {
      clean = std::pair{offset((*fields)[0]), static_cast<uint64_t>((*fields)[1])};
    }
    // Removed before any write, so a crash from here on is seen as unclean.
    SPATE_TRY(_fs.remove_file(_dir + "/" + clean_name));
    SPATE_TRY(_fs.sync_dir(_dir));
  }

  std::vector<offset> unindexed;  // closed segments whose index was missing or wrong
  for (size_t i = 0; i < bases.size(); ++i) {
    bool is_active = i + 1 == bases.size();
    bool scan = is_active;
    if (is_active && clean) {
      // Trust the index only if it describes the log as it was closed.
      auto f = _fs.open(_dir + "/" + segment_file_name(bases[i], ".log"), io::open_mode::read_only);
      if (!f) return f.error();
      auto size = (*f)->size();
      if (!size) return size.error();
      scan = *size != clean->second;
    }
    segment_open_report sr;
    auto seg = segment::open(_fs, _dir, bases[i], _config.index_interval_bytes,
                             _config.max_batch_bytes, scan, sr);
    if (!seg) return seg.error();
    std::string name = segment_file_name(bases[i], ".log");
    if (is_active) SPATE_TRY(restore_from_ring(bases[i], *seg, report));
    if (sr.scanned) {
      report.bytes_scanned += (*seg)->size() + sr.truncated_bytes + sr.zero_tail_bytes;
    }
    report.zero_tail_bytes += sr.zero_tail_bytes;
    if (sr.truncated_bytes > 0 || sr.zero_tail_bytes > 0) {
      report.truncated_bytes += sr.truncated_bytes;
      report.notes.push_back(name + ": " + sr.reason);
    } else if (sr.index_rebuilt) {
      report.notes.push_back(name + ": index rebuilt (" + sr.reason + ")");
    }
    if (sr.index_rebuilt) ++report.indexes_rebuilt;
    if (sr.index_rebuilt && !is_active) unindexed.push_back(bases[i]);
    _segments.emplace(bases[i], std::move(*seg));
  }
  // A roll leaves the sync of the segment it closes to the flusher, and writes that segment's
  // index only after the sync (and the active segment's index file is removed below once the
  // log is open, so no closed segment keeps one from before it was closed). So a closed segment
  // without a valid index that ends short of the next segment's base, followed only by closed
  // segments without one either, lost its tail in a power cut before its roll's work was done:
  // rolls' work runs in order. Nothing from there on was ever reported durable (no waiter past
  // a roll point completes before that work), so the later segments go too, and the log ends
  // where its data does, without a hole. A short segment followed by indexed ones is damage
  // to old data (their rolls completed): that keeps its hole, as before.
  // Segments below the cleaner checkpoint are exempt: the cleaner ends segments early on
  // purpose, may leave one without an index (a crash after a swap's commit point), and only
  // ever takes segments whose roll work has completed; the checkpoint is written before any
  // swap it covers.
  if (!_segments.empty()) load_cleaner_checkpoint();
  for (size_t u = 0; u < unindexed.size(); ++u) {
    if (unindexed[u] < _clean_checkpoint) continue;
    auto it = _segments.find(unindexed[u]);
    auto next = std::next(it);
    if (next == _segments.end() || it->second->next_offset() >= next->first) continue;
    size_t later_closed = static_cast<size_t>(std::distance(next, _segments.end())) - 1;
    if (unindexed.size() - u - 1 != later_closed) break;
    uint64_t dropped = 0;
    while (_segments.size() > 1 && std::prev(_segments.end())->first > it->first) {
      auto last = std::prev(_segments.end());
      dropped += last->second->size();
      SPATE_TRY(last->second->remove_files());
      _segments.erase(last);
    }
    SPATE_TRY(_fs.sync_dir(_dir));
    report.truncated_bytes += dropped;
    report.notes.push_back(segment_file_name(it->first, ".log") + " ends at offset " +
                           std::to_string(it->second->next_offset().value) +
                           ", short of the next segment (its roll never completed): removed " +
                           std::to_string(dropped) + " bytes of later segments");
    break;
  }
  report.clean_shutdown = clean.has_value() && !_segments.empty();

  // Segments wholly below the log start were due for deletion when a crash intervened.
  while (_segments.size() > 1 && _segments.begin()->second->next_offset() <= _log_start) {
    report.notes.push_back("removed " + segment_file_name(_segments.begin()->first, ".log") +
                           " (below the log start offset)");
    SPATE_TRY(_segments.begin()->second->remove_files());
    _segments.erase(_segments.begin());
  }
  if (_segments.empty()) {
    auto seg = segment::create(_fs, _dir, _log_start, _config.index_interval_bytes);
    if (!seg) return seg.error();
    _segments.emplace(_log_start, std::move(*seg));
  }
  // Offsets past a gap (a closed segment cut by corruption) are simply absent; reads skip to
  // the next segment. A log start past the end can follow only from lost data: clamp it.
  _log_end = active().next_offset();
  _log_start = std::max(_log_start, _segments.begin()->first);
  if (_log_start > _log_end) {
    report.notes.push_back("log start offset " + std::to_string(_log_start.value) +
                           " is past the recovered end " + std::to_string(_log_end.value) +
                           "; clamped");
    _log_start = _log_end;
    // Written back at once: appends will reuse these offsets, and a stale start would hide
    // them after the next restart.
    SPATE_TRY(write_meta());
  }
  // The active segment's index file (written by a clean close) has served: from now on that
  // segment grows past it, and if it is later closed by a roll whose work never runs, a stale
  // index that still matches the synced size would hide the lost tail from the rule above.
  if (!_segments.empty()) {
    std::string index_path = active().index_path();
    auto index_exists = _fs.exists(index_path);
    if (!index_exists) return index_exists.error();
    if (*index_exists) {
      SPATE_TRY(_fs.remove_file(index_path));
      SPATE_TRY(_fs.sync_dir(_dir));
    }
  }
  SPATE_TRY(restore_producers(snapshots, report));
  load_cleaner_checkpoint();
  // A process that died between a write and its fdatasync leaves the data in the page cache,
  // and the scan above keeps it. From here on it is readable and when_durable reports it on
  // disk, so it must be: sync the active segment (closed ones were synced at roll). Cheap
  // after a clean shutdown, when nothing is dirty.
  SPATE_TRY(active().sync());
  // What a ring file held is in the segment now, synced (restore_from_ring above).
  if (auto ring = _fs.exists(ring_path()); ring && *ring) SPATE_TRY(_fs.remove_file(ring_path()));
  auto sync_files = sync_files_for(active());
  if (!sync_files) return sync_files.error();
  active().note_reserved_by_earlier_process();
  prepare_ahead();

  {
    std::lock_guard lock(_sync->mu);
    _sync->sync_files = std::move(*sync_files);
    _sync->written_end = _log_end;
    _sync->durable_end = _log_end;  // recovery synced what it kept
    _sync->started_end = _log_end;
    _sync->policy = _config.flush;
    _sync->interval_ms = _config.flush_interval_ms;
    _sync->write_behind_bytes = _config.write_behind_bytes;
    _sync->written_pos = active().size();
    _sync->behind_pos = _sync->written_pos;  // recovery synced it
  }
  _flusher.watch_interval(_sync);

  storage_metrics::get().recovered_truncated_bytes.inc(report.truncated_bytes);
  storage_metrics::get().indexes_rebuilt.inc(report.indexes_rebuilt);
  report.segments = _segments.size();
  report.log_start = _log_start;
  report.log_end = _log_end;
  report.size_bytes = size_bytes();
  return ok();
}

uint64_t partition_log::size_bytes() const {
  uint64_t total = 0;
  for (auto& [base, seg] : _segments) total += seg->size();
  return total;
}

std::optional<error> partition_log::failure() const {
  if (_failed) return _failed;
  // A ring write that failed after its appends were answered (append_ring.h).
  if (_ring) {
    if (auto f = _ring->failure()) return f;
  }
  std::lock_guard lock(_sync->mu);
  return _sync->failed;
}

status partition_log::fail(const error& e) {
  _failed = e;
  std::vector<durability_callback> waiting;
  {
    std::lock_guard lock(_sync->mu);
    if (!_sync->failed) _sync->failed = e;
    for (auto& w : _sync->waiters) waiting.push_back(std::move(w.cb));
    _sync->waiters.clear();
  }
  for (auto& cb : waiting) cb(e, durability::page_cache);
  return e;
}

result<append_result> partition_log::append(mutable_bytes batch, timestamp_ms now) {
  return std::move(append_group(std::span<const mutable_bytes>(&batch, 1), now, false)[0]);
}

result<append_result> partition_log::append_internal(mutable_bytes batch, timestamp_ms now) {
  return std::move(append_group(std::span<const mutable_bytes>(&batch, 1), now, true)[0]);
}

std::vector<result<append_result>> partition_log::append_all(std::span<const mutable_bytes> batches,
                                                             timestamp_ms now) {
  return append_group(batches, now, false);
}

std::vector<result<append_result>> partition_log::append_group(
    std::span<const mutable_bytes> batches, timestamp_ms now, bool internal) {
  auto& metrics = storage_metrics::get();
  std::vector<std::optional<result<append_result>>> out(batches.size());
  // The run: batches accepted, given offsets, not yet written. Nothing about them is recorded
  // (log end, indexes, producer state, sync target) until their write succeeded, so a failed
  // write has nothing to undo but the file's tail.
  struct staged {
    size_t index;
    bytes_view bytes;
    batch_header header;
    timestamp_ms log_append_time;
  };
  std::vector<staged> run;
  uint64_t run_bytes = 0;
  offset run_end = _log_end;

  auto write_run = [&] {
    if (run.empty()) return;
    std::vector<bytes_view> views;
    std::vector<batch_header> headers;
    views.reserve(run.size());
    headers.reserve(run.size());
    for (auto& r : run) {
      views.push_back(r.bytes);
      headers.push_back(r.header);
    }
    maybe_start_ring();
    segment& seg = active();
    auto written = seg.append(views, headers);
    if (!written) {
      metrics.append_failures.inc(run.size());
      error e =
          seg.broken()
              ? fail(written.error().with_context("append failed and could not be undone")).error()
              : std::move(written).error();
      for (auto& r : run) out[r.index] = e;
    } else {
      for (auto& r : run) {
        _producers.record(r.header);
        metrics.appended_batches.inc();
        metrics.appended_bytes.inc(r.bytes.size());
        append_result a;
        a.base_offset = r.header.base_offset;
        a.last_offset = r.header.last_offset();
        a.next_offset = r.header.next_offset();
        a.log_append_time = r.log_append_time;
        a.size = r.bytes.size();
        out[r.index] = a;
      }
      _log_end = run_end;
      _appended_bytes += run_bytes;
      _ring_credit += run_bytes;
      trim_cache();
      bool schedule = false;
      bool wake = false;
      {
        std::lock_guard lock(_sync->mu);
        // The interval timer only watches dirty targets, so the first write after a sync wakes
        // it.
        wake = _config.flush == flush_policy::interval && _sync->written_end <= _sync->durable_end;
        _sync->written_end = _log_end;
        // What is in the file: write-behind of bytes still in the ring would start nothing.
        _sync->written_pos = _ring ? std::min(seg.size(), _ring->written_end()) : seg.size();
        // A sync under `always`; under `interval`, write-behind once enough has accumulated.
        schedule = _sync->wants_sync_locked();
      }
      if (schedule) _flusher.schedule(_sync);
      if (wake) _flusher.wake();
    }
    run.clear();
    run_bytes = 0;
    run_end = _log_end;
  };

  batch_limits limits;
  limits.max_batch_bytes = _config.max_batch_bytes;
  limits.allow_control = internal;
  limits.max_timestamp_difference_ms = _config.message_timestamp_difference_max_ms;
  limits.require_keys = _config.cleanup_compact && !internal;
  for (size_t i = 0; i < batches.size(); ++i) {
    mutable_bytes batch = batches[i];
    // A run is written before it outgrows max_run_bytes, so that each batch is copied into
    // the page cache while its validation has left it in the CPU's cache. A turn of sixteen
    // 1 MiB batches written as one 16 MiB pwritev read every byte back from memory, as the L3
    // (16 MiB here) holds neither the run nor the pages it goes to (bench/RESULTS.md).
    if (!run.empty() && run_bytes + batch.size() > max_run_bytes) write_run();
    if (_closed) {
      out[i] = error(errc::log_closed, _dir);
      continue;
    }
    if (auto f = failure()) {
      out[i] = error(errc::log_failed, _dir + ": " + f->message());
      continue;
    }
    auto info = validate_batch(batch, limits, now);
    if (!info) {
      metrics.rejected_batches.inc();
      out[i] = info.error();
      continue;
    }
    if (info->header.producer_id >= 0 && std::any_of(run.begin(), run.end(), [&](const staged& r) {
          return r.header.producer_id == info->header.producer_id;
        })) {
      // The sequence check (and duplicate detection) reads the producer's recorded state.
      write_run();
      if (auto f = failure()) {
        out[i] = error(errc::log_failed, _dir + ": " + f->message());
        continue;
      }
    }
    auto seq = _producers.check(info->header);
    if (!seq) {
      metrics.rejected_batches.inc();
      out[i] = seq.error();
      continue;
    }
    if (seq->duplicate) {
      append_result dup;
      dup.base_offset = seq->duplicate->first_offset;
      dup.last_offset = seq->duplicate->last_offset;
      dup.next_offset = dup.last_offset + 1;  // acks=all waits until the original is durable
      // Under LogAppendTime the original's append time, so a retried send reports what the
      // first one would have.
      dup.log_append_time = _config.message_timestamp_type == timestamp_type::log_append_time
                                ? timestamp_ms(seq->duplicate->max_timestamp)
                                : timestamp_ms(-1);
      dup.duplicate = true;
      metrics.duplicate_batches.inc();
      out[i] = dup;
      continue;
    }

    // Under LogAppendTime the stored timestamp will be `now`, so that is what the age check
    // must compare, not the producer's clock.
    batch_header incoming = info->header;
    if (_config.message_timestamp_type == timestamp_type::log_append_time) {
      incoming.max_timestamp = now;
    }
    if (!run.empty()) {
      // The roll rule counts the run as if it were written; a roll ends the run (it is
      // written to the segment it began in).
      const segment& seg = active();
      int64_t first_ts =
          seg.empty() ? run.front().header.max_timestamp.value : seg.first_timestamp();
      if (roll_due(incoming, seg.size() + run_bytes, first_ts, run_end)) {
        write_run();
        if (auto f = failure()) {
          out[i] = error(errc::log_failed, _dir + ": " + f->message());
          continue;
        }
      }
    }
    if (run.empty()) {
      if (auto st = maybe_roll(incoming); !st) {
        out[i] = std::move(st).error();
        continue;
      }
    }

    timestamp_ms append_time(-1);
    if (_config.message_timestamp_type == timestamp_type::log_append_time) {
      set_log_append_time(batch, now);
      append_time = now;
    }
    set_base_offset(batch, run_end);
    batch_header h = batch_header::parse(batch);
    run.push_back({i, batch, h, append_time});
    run_bytes += batch.size();
    run_end = h.next_offset();
  }
  write_run();

  std::vector<result<append_result>> results;
  results.reserve(out.size());
  for (auto& r : out) results.push_back(std::move(*r));
  return results;
}

void partition_log::when_durable(offset end, durability_callback cb) {
  std::unique_lock lock(_sync->mu);
  if (_sync->failed) {
    error e = *_sync->failed;
    lock.unlock();
    cb(e, durability::page_cache);
    return;
  }
  if (_sync->durable_end >= end) {
    if (!_sync->waiters.empty()) {
      // Earlier waiters are satisfied by a sync that just ended but not yet completed (the
      // flusher takes them after updating durable_end): behind them, this one is completed
      // by the same worker, in order.
      _sync->waiters.push_back({end, std::move(cb)});
      return;
    }
    lock.unlock();
    // A worker may still be running the callbacks of earlier waiters it took: wait for it, so
    // that this acknowledgement does not overtake theirs (flusher.h, completion_mu).
    std::lock_guard completing(_sync->completion_mu);
    cb(ok(), durability::disk);
    return;
  }
  if (_config.flush == flush_policy::os) {
    lock.unlock();
    cb(ok(), durability::page_cache);
    return;
  }
  _sync->waiters.push_back({end, std::move(cb)});
  // `always` scheduled a sync at append; `interval` leaves it to the timer.
}

status partition_log::flush() {
  if (_closed) return error(errc::log_closed, _dir);
  flusher::sync_now(*_sync);
  if (auto f = failure()) return error(errc::log_failed, _dir + ": " + f->message());
  return ok();
}

status partition_log::maybe_roll(const batch_header& incoming) {
  segment& seg = active();
  if (seg.empty()) return ok();
  if (roll_due(incoming, seg.size(), seg.first_timestamp(), _log_end)) return roll_locked();
  return ok();
}

bool partition_log::roll_due(const batch_header& incoming, uint64_t size, int64_t first_timestamp,
                             offset end) {
  const segment& seg = active();
  bool full = size + incoming.total_size() > _config.segment_bytes;
  // Kafka's rule: the incoming batch's timestamp against the segment's first batch; the
  // process clock only when the batches carry no timestamps.
  bool old;
  if (first_timestamp >= 0 && incoming.max_timestamp.value >= 0) {
    old = incoming.max_timestamp.value - first_timestamp > _config.segment_ms;
  } else {
    old = mono_clock::now() - seg.created() >= std::chrono::milliseconds(_config.segment_ms);
  }
  // Relative offsets in the index are 32-bit.
  bool far = end - seg.base() >= static_cast<int64_t>(UINT32_MAX) - 1;
  return full || old || far;
}

status partition_log::roll() {
  if (_closed) return error(errc::log_closed, _dir);
  if (auto f = failure()) return error(errc::log_failed, _dir + ": " + f->message());
  if (active().empty()) return ok();
  return roll_locked();
}

void partition_log::prepare_ahead() {
  active().set_reserve_ahead(_config.flush != flush_policy::always);
  if (_ring) {
    // A new active segment (roll): the ring was written out into the one before.
    _ring->bind(active().log_file(), active().base(), active().size());
    active().set_ring(_ring);
  }
  if (_config.preallocate_bytes == 0 || _config.flush != flush_policy::always) return;
  // Never past the largest file the segment can reach: segment.bytes plus one batch.
  active().start_zero_fill(_flusher.zero_fill(), _config.preallocate_bytes,
                           _config.segment_bytes + _config.max_batch_bytes);
}

status partition_log::roll_locked() {
  segment& old = active();
  if (_ring) {
    // The closed segment's data must all be in its file before its roll work syncs it. A
    // page-cache write of at most the ring's size, on this thread.
    if (auto out = _ring->write_out(); !out) return fail(out.error());
  }
  // The closed segment is made durable once, so that recovery need only scan the active
  // segment (and closed ones without a valid index) and the flusher need only sync the active
  // file. That sync takes as long as the segment's dirty data takes to write (seconds for a
  // 1 GiB segment under `os`), so it is the flusher's, not this event loop's: the work below
  // runs on a worker, in roll order, before the target's next sync, and nothing at or past
  // the roll point is reported durable until it has succeeded.
  //
  // Its order matters. The index goes to disk only after the log it describes, because an
  // index that agrees with the log's size is trusted without a scan at the next open; until
  // then a crash leaves the segment without an index, and the open scans and checks it. The
  // producer snapshot likewise describes the state at the roll point, so it follows the data.
  // The new segment's directory entry must be on disk before anything in it is acknowledged.
  auto seg = segment::create(_fs, _dir, _log_end, _config.index_interval_bytes, false);
  if (!seg) return seg.error();
  auto sync_files = sync_files_for(**seg);
  if (!sync_files) {
    (void)(*seg)->remove_files();  // not in the log yet: as if the roll never began
    return sync_files.error();
  }
  io::file_ptr closed_log = old.log_file();
  uint64_t closed_size = old.size();
  std::string closed_path = closed_log->path();
  // Preallocation of the closed segment stops here, but its cut back to the data is part of
  // the roll's work: the filler may be writing a piece of zeros into it right now, and the
  // owner must not wait for that write (zero_fill.h). Done after the last step that can fail,
  // so a failed roll leaves the active segment filling as before.
  std::shared_ptr<zero_fill_state> zero = old.release_zero_fill();
  bool reserved = old.release_reserved();
  std::string index_path = old.index_path();
  byte_buffer index = old.index_bytes();
  // The producer state as of the new segment's base: a restart replays at most the active
  // segment's headers, the part recovery scans anyway.
  std::string snapshot_path = _dir + "/" + segment_file_name(_log_end, ".snapshot");
  byte_buffer snapshot = _producers.serialize(_log_end);
  // The ring moves to the new segment in prepare_ahead below (a failed roll above keeps it
  // on the active one).
  old.set_ring(nullptr);
  _segments.emplace(_log_end, std::move(*seg));
  storage_metrics::get().segments_rolled.inc();
  // What the closed segment still has in the page cache is dropped as the new one grows
  // (trim_cache); an earlier closed segment not yet handed over goes now.
  if (cache_window() > 0) {
    if (_cache_closed) {
      _flusher.cache_trim().post(_fs, _cache_closed->path, _cache_closed->from,
                                 round_up_to_page(_cache_closed->to), _sync);
    }
    _cache_closed =
        closed_tail{std::move(closed_path), std::min(_cache_trimmed_to, closed_size), closed_size};
  }
  _cache_trimmed_to = 0;
  prepare_ahead();
  // Pruned before this roll's snapshot is listed, since pruning waits while earlier rolls'
  // snapshots are still to be written (see prune_producer_snapshots). So three snapshot files
  // may exist between two rolls; the next roll, retention or close prunes the oldest.
  prune_producer_snapshots();
  if (_snapshots.empty() || _snapshots.back() != _log_end) _snapshots.push_back(_log_end);

  auto work = [&fs = _fs, dir = _dir, closed_log = std::move(closed_log), closed_size,
               zero = std::move(zero), reserved, index_path = std::move(index_path),
               index = std::move(index), snapshot_path = std::move(snapshot_path),
               snapshot = std::move(snapshot)]() -> status {
    // The closed segment ends at its data: the file is cut back before its sync, so that the
    // index, written after that sync, agrees with its size. If the cut fails the zeros stay
    // (reads and sizes count batches only) and no index is written: the next open scans the
    // segment and removes them as a zero tail.
    bool cut = !zero || segment::cut_zero_fill(*zero, *closed_log, closed_size);
    // Blocks reserved past the data (segment::set_reserve_ahead) are freed the same way; a
    // failure there costs disk space until retention deletes the segment, nothing else.
    if (cut && reserved && !closed_log->truncate(closed_size)) {
      storage_metrics::get().reserve_failures.inc();
    }
    auto synced = closed_log->sync_data();
    if (!synced) return std::move(synced).error().with_context("syncing segment at roll");
    // Best-effort: without its index the segment is scanned (and checked) at the next open.
    if (!cut || !segment::write_index(fs, index_path, index)) {
      (void)fs.remove_file(index_path);
      storage_metrics::get().index_failures.inc();
    }
    write_snapshot_file(fs, snapshot_path, snapshot);
    auto entry = fs.sync_dir(dir);
    if (!entry) return std::move(entry).error().with_context("syncing the new segment's folder");
    return ok();
  };
  bool schedule = false;
  {
    std::lock_guard lock(_sync->mu);
    _sync->sync_files = std::move(*sync_files);
    _sync->written_pos = 0;  // write-behind starts over in the new file
    _sync->behind_pos = 0;
    _sync->before_sync.push_back({_log_end, std::move(work)});
    ++_sync->pending_rolls;
    schedule = _sync->wants_sync_locked();
  }
  if (schedule) _flusher.schedule(_sync);
  return ok();
}

result<std::vector<io::file_ptr>> partition_log::sync_files_for(const segment& seg) {
  // Two descriptors, so that two syncs can be in flight (flusher.h). Each is its own open()
  // of the file, never a dup() of the segment's: a dup shares the open file description, and
  // with it the once-per-description report of a writeback error. The segment's own
  // descriptor is left for the roll's sync, which may run while these are in a sync.
  std::vector<io::file_ptr> files;
  for (int i = 0; i < 2; ++i) {
    auto f = _fs.open(seg.log_file()->path(), io::open_mode::read_only);
    if (!f) return std::move(f).error().with_context("opening a descriptor to sync");
    files.push_back(std::move(*f));
  }
  return files;
}

void partition_log::wait_for_rolls() {
  bool pending;
  {
    std::lock_guard lock(_sync->mu);
    pending = _sync->pending_rolls > 0;
  }
  if (pending) {
    flusher::sync_now(*_sync, nullptr, false);
    // A worker that took the target while this thread ran its roll work found it busy and
    // let it go; appends made after the roll did not queue it either, since their sync had to
    // wait for that work. Nobody else would sync them until the next append, so an acks=all
    // produce could wait for its request timeout (integration.retention, whose retention
    // pass runs rolls' work on the owner thread).
    // Under `interval` the timer's scan skipped this target while its roll work ran here
    // (no sync could start), and appends to a dirty target do not wake it: ask it to look
    // again, or the sync would wait for the next wake-up of any kind.
    bool schedule;
    bool interval;
    {
      std::lock_guard lock(_sync->mu);
      schedule = _sync->wants_sync_locked();
      interval = _sync->policy == flush_policy::interval;
    }
    if (schedule) _flusher.schedule(_sync);
    if (interval) _flusher.wake();
  }
  prune_producer_snapshots();
}

status partition_log::write_meta() {
  return io::write_file_atomically(_fs, _dir + "/" + meta_name,
                                   seal(meta_magic, {_log_start.value}));
}

result<read_result> partition_log::read(offset from, uint64_t max_bytes) {
  if (_closed) return error(errc::log_closed, _dir);
  read_result out;
  out.log_start = _log_start;
  out.log_end = _log_end;
  if (from < _log_start || from > _log_end) {
    return error(errc::offset_out_of_range, "offset " + std::to_string(from.value) + " outside [" +
                                                std::to_string(_log_start.value) + ", " +
                                                std::to_string(_log_end.value) + "]");
  }
  if (from == _log_end) return out;
  // The segment holding `from`, or the next one if `from` fell into a gap.
  auto it = _segments.upper_bound(from);
  if (it != _segments.begin()) --it;
  for (; it != _segments.end(); ++it) {
    offset target = std::max(from, it->first);
    auto loc = it->second->locate(target);
    if (!loc) return loc.error();
    if (!*loc) continue;
    auto slice = it->second->slice_from((*loc)->position, max_bytes);
    if (!slice) return slice.error();
    if (cache_window() > 0) note_reader(it, slice->position);
    out.slice = std::move(*slice);
    return out;
  }
  return out;
}

result<std::optional<timestamp_and_offset>> partition_log::offset_for_timestamp(timestamp_ms t) {
  if (_closed) return error(errc::log_closed, _dir);
  for (auto& [base, seg] : _segments) {
    if (seg->next_offset() <= _log_start) continue;
    // Records below the log start are deleted: the search starts there, it does not clamp.
    auto found = seg->find_timestamp(t, _log_start);
    if (!found) return found.error();
    if (*found) return *found;
  }
  return std::optional<timestamp_and_offset>{};
}

status partition_log::remove_segments_below(offset start, retention_report* report) {
  if (_segments.size() > 1 && _segments.begin()->second->next_offset() <= start) {
    // A roll's work still to run would write the index and snapshot of a segment deleted here.
    // Rare (retention of a segment closed moments ago), so it is simply waited for.
    wait_for_rolls();
  }
  // Never the active segment: appends continue there.
  while (_segments.size() > 1 && _segments.begin()->second->next_offset() <= start) {
    auto& seg = *_segments.begin()->second;
    if (report) {
      ++report->segments_deleted;
      report->bytes_deleted += seg.size();
    }
    SPATE_TRY(seg.remove_files());
    _segments.erase(_segments.begin());
    storage_metrics::get().segments_deleted.inc();
  }
  return _fs.sync_dir(_dir);
}

result<offset> partition_log::delete_records(offset new_start) {
  if (_closed) return error(errc::log_closed, _dir);
  if (new_start > _log_end || new_start.value < 0) {
    return error(errc::offset_out_of_range, "delete records before " +
                                                std::to_string(new_start.value) + ", log end " +
                                                std::to_string(_log_end.value));
  }
  if (new_start <= _log_start) return _log_start;
  // The start offset is made durable before any file goes, so a crash in between leaves
  // segments that recovery deletes, never records that reappear.
  offset previous = _log_start;
  _log_start = new_start;
  auto st = write_meta();
  if (!st) {
    _log_start = previous;
    return std::move(st).error();
  }
  SPATE_TRY(remove_segments_below(_log_start, nullptr));
  _producers.remove_below(_log_start);
  prune_producer_snapshots();
  return _log_start;
}

result<retention_report> partition_log::apply_retention(timestamp_ms now) {
  if (_closed) return error(errc::log_closed, _dir);
  retention_report report;
  offset new_start = _log_start;
  // Candidates are the closed segments, oldest first; deletion stops at the first that is
  // kept, so the log stays a contiguous suffix.
  uint64_t total = size_bytes();
  // cleanup.policy=compact alone: nothing is deleted by time or size, only by the cleaner.
  for (auto it = _segments.begin(); _config.cleanup_delete && std::next(it) != _segments.end();
       ++it) {
    const segment& seg = *it->second;
    bool expired =
        _config.retention_ms >= 0 && seg.max_timestamp().value < now.value - _config.retention_ms;
    bool oversize = _config.retention_bytes >= 0 &&
                    total - seg.size() >= static_cast<uint64_t>(_config.retention_bytes);
    if (!expired && !oversize) break;
    total -= seg.size();
    new_start = std::max(new_start, seg.next_offset());
  }
  if (new_start > _log_start) {
    offset previous = _log_start;
    _log_start = new_start;
    auto st = write_meta();
    if (!st) {
      _log_start = previous;
      return std::move(st).error();
    }
  }
  // Also when the start did not move here: delete_records keeps the active segment, and a roll
  // then leaves it closed and wholly below the start, where nothing else reclaims it until the
  // start moves again.
  if (_segments.size() > 1 && _segments.begin()->second->next_offset() <= _log_start) {
    SPATE_TRY(remove_segments_below(_log_start, &report));
  }
  _producers.remove_below(_log_start);
  if (_config.producer_id_expiration_ms >= 0) {
    _producers.expire(now.value - _config.producer_id_expiration_ms);
  }
  prune_producer_snapshots();
  report.log_start = _log_start;
  return report;
}

status partition_log::set_config(const log_config& config) {
  SPATE_TRY(config.validate());
  _config = config;
  if (_ring && (_config.flush == flush_policy::always || _config.append_ring_bytes == 0 ||
                _config.append_ring_bytes != _ring->capacity())) {
    // Under `always` every append waits for its sync anyway: straight into the file. The
    // data the ring held must be durable before its file goes (the sync writes it out).
    if (auto st = active().sync(); !st) return fail(st.error());
    SPATE_TRY(release_ring());
  }
  active().set_reserve_ahead(_config.flush != flush_policy::always);
  // Under `always` a reservation ahead makes each fdatasync convert extents: give it back.
  if (_config.flush == flush_policy::always) active().free_reserved();
  std::lock_guard lock(_sync->mu);
  _sync->policy = config.flush;
  _sync->interval_ms = config.flush_interval_ms;
  _sync->write_behind_bytes = config.write_behind_bytes;
  return ok();
}

status partition_log::close() {
  if (_closed) return ok();
  _closed = true;
  // The ring's bytes go into the segment before the file is cut back to its data (a truncate
  // below the ring's last writes would extend the file instead, keeping the reservation).
  if (_ring && !failure()) {
    if (auto out = _ring->write_out(); !out) (void)fail(out.error());
  }
  if (failure()) {
    (void)active().stop_zero_fill();  // the next open's scan removes any zeros left
    // What the ring holds stays in its file for the next open; nothing more is written.
    if (_ring) {
      _ring->detach();
      active().set_ring(nullptr);
      std::lock_guard lock(_sync->mu);
      _sync->ring = nullptr;
    }
    _ring.reset();
    flusher::quiesce(*_sync);
    // Leave no clean marker: the next open recovers by scanning.
    return ok();
  }
  segment& seg = active();
  // The file ends at its data before the last sync, and the clean marker records that size.
  // The cut waits for the filler's piece in progress, if any (at most 1 MiB to the page cache:
  // the filler checks for a stop before each piece), not for its whole chunk.
  if (auto st = seg.stop_zero_fill(); !st) {
    // The file could not be cut back to its data: still make what was written durable and
    // complete the waiters, but write no clean marker, so the next open scans the segment
    // and removes the zeros.
    flusher::sync_now(*_sync);
    flusher::quiesce(*_sync);
    return st;
  }
  seg.free_reserved();
  // Runs the rolls' work left to the flusher, then syncs the active segment; then waits for
  // a worker's sync still in flight (one that began before the sync that covered the end).
  flusher::sync_now(*_sync);
  flusher::quiesce(*_sync);
  if (auto f = failure()) return *f;
  SPATE_TRY(seg.persist_index());
  // At the log end, so that a clean restart replays nothing.
  write_producer_snapshot();
  // The sync above wrote the ring out and made it durable: its file has served.
  if (_ring) SPATE_TRY(release_ring());
  return io::write_file_atomically(
      _fs, _dir + "/" + clean_name,
      seal(clean_magic, {_log_end.value, static_cast<int64_t>(seg.size())}));
}

void partition_log::maybe_start_ring() {
  if (_ring || _ring_refused || _config.flush == flush_policy::always ||
      _config.append_ring_bytes == 0 ||
      _ring_credit < (_config.append_ring_after_bytes != 0 ? _config.append_ring_after_bytes
                                                           : _config.append_ring_bytes)) {
    return;
  }
  auto ring = append_ring::create(_fs, ring_path(), _config.append_ring_bytes, _flusher.rings());
  if (!ring) {
    // No mmap here (ENOTSUP), or no space for the file: appends go on writing directly.
    _ring_refused = true;
    (void)_fs.remove_file(ring_path());
    return;
  }
  if (!*ring) return;  // over the process's budget: tried again at a later append
  _ring = std::move(*ring);
  _ring->bind(active().log_file(), active().base(), active().size());
  active().set_ring(_ring);
  std::lock_guard lock(_sync->mu);
  _sync->ring = _ring;
}

result<bool> partition_log::release_idle_ring() {
  if (_closed) return false;  // a deleted topic's: close() gave its ring back
  const bool idle = _appended_bytes == _ring_idle_mark;
  _ring_idle_mark = _appended_bytes;
  // A failed log keeps its ring (and its file, for the next open to restore) until it is
  // closed: the failure was reported by the operation that met it.
  if (!_ring || !idle || failure()) return false;
  _ring_credit = 0;
  SPATE_TRY(release_ring());
  return true;
}

status partition_log::release_ring() {
  if (!_ring) return ok();
  auto out = _ring->write_out();
  active().set_ring(nullptr);
  {
    std::lock_guard lock(_sync->mu);
    _sync->ring = nullptr;
    // All of it is in the file now: write-behind may cover it.
    if (out) _sync->written_pos = active().size();
  }
  _ring.reset();
  if (!out) return fail(out.error());
  return _fs.remove_file(ring_path());
}

status partition_log::restore_from_ring(offset base, std::unique_ptr<segment>& seg,
                                        log_recovery_report& report) {
  auto exists = _fs.exists(ring_path());
  if (!exists) return exists.error();
  if (!*exists) return ok();
  auto tail = append_ring::saved_tail(_fs, ring_path(), base, seg->size());
  if (!tail) return tail.error();
  if (tail->empty()) return ok();
  uint64_t from = seg->size();
  {
    auto f = _fs.open(seg->log_file()->path(), io::open_mode::read_write);
    if (!f) return f.error();
    SPATE_TRY((*f)->write_at(from, *tail));
  }
  // Scanned again from the start: what the ring held is checked like any tail (a power cut
  // leaves it as the kernel last wrote it back), and an invalid part is cut.
  seg.reset();
  segment_open_report sr;
  auto again = segment::open(_fs, _dir, base, _config.index_interval_bytes, _config.max_batch_bytes,
                             true, sr);
  if (!again) return again.error();
  seg = std::move(*again);
  uint64_t kept = seg->size() > from ? seg->size() - from : 0;
  report.bytes_scanned += seg->size() + sr.truncated_bytes + sr.zero_tail_bytes;
  report.truncated_bytes += sr.truncated_bytes;
  report.notes.push_back(segment_file_name(base, ".log") + ": restored " + std::to_string(kept) +
                         " bytes from " + append_ring::file_name +
                         " (appended, not yet written into the segment when the process stopped)");
  if (sr.truncated_bytes > 0) {
    report.notes.push_back(segment_file_name(base, ".log") + ": " + sr.reason);
  }
  return ok();
}

status partition_log::restore_producers(const std::vector<offset>& snapshots,
                                        log_recovery_report& report) {
  // Everything here is best-effort: snapshots only spare a replay, and the replay only
  // rebuilds a cache of recent batches. Nothing in it may keep the log from opening.
  _producers.clear();
  _snapshots.clear();
  offset first_base = _segments.begin()->first;
  std::vector<offset> newest_first(snapshots.rbegin(), snapshots.rend());
  std::sort(newest_first.begin(), newest_first.end(), std::greater<>());
  std::optional<offset> loaded;
  for (offset at : newest_first) {
    std::string name = segment_file_name(at, ".snapshot");
    std::string path = _dir + "/" + name;
    if (at > _log_end || at < first_base) {
      // Past the recovered end, its batches were cut away; below the first segment, they
      // were deleted.
      report.notes.push_back(
          "removed " + name +
          (at > _log_end ? " (past the recovered log end)" : " (below the first segment)"));
      if (auto st = _fs.remove_file(path); !st) {
        report.notes.push_back("cannot remove " + name + ": " + st.error().message());
      }
      continue;
    }
    if (loaded) {
      _snapshots.insert(_snapshots.begin(), at);  // an older fallback, kept for pruning
      continue;
    }
    auto content = io::read_whole_file(_fs, path);
    auto state = content ? producer_state::load(*content, at) : content.error();
    if (!state) {
      report.notes.push_back(name + ": " + state.error().message() + "; not used");
      continue;  // left on disk for the operator; pruned once newer snapshots exist
    }
    _producers = std::move(*state);
    loaded = at;
    _snapshots.insert(_snapshots.begin(), at);
  }
  // Without a snapshot (a data folder from before snapshots, or all of them unreadable),
  // replay the last two segments only, as Kafka does: bounded start-up time, and a producer
  // older than that simply starts fresh (any sequence is accepted from an unknown producer).
  offset replay_from = first_base;
  if (loaded) {
    replay_from = *loaded;
  } else if (_segments.size() > 2) {
    replay_from = std::prev(_segments.end(), 2)->first;
  }
  uint64_t replayed = 0;
  for (auto& [base, seg] : _segments) {
    if (seg->next_offset() <= replay_from) continue;
    auto st = seg->for_each_header(replay_from, [&](const batch_header& h) {
      if (h.base_offset < replay_from) return;
      _producers.record(h);
      ++replayed;
    });
    if (!st) {
      report.notes.push_back(segment_file_name(base, ".log") +
                             ": producer state replay stopped: " + st.error().message());
    }
  }
  _producers.remove_below(_log_start);
  report.producers = _producers.size();
  report.producer_batches_replayed = replayed;
  if (!loaded && _log_end > first_base) {
    report.notes.push_back("no usable producer snapshot: producer state rebuilt from offset " +
                           std::to_string(replay_from.value));
  }
  return ok();
}

bool partition_log::write_snapshot_file(io::filesystem& fs, const std::string& path,
                                        bytes_view bytes) {
  // Best-effort, like everything about snapshots: a failure (ENOSPC, EIO) costs a longer
  // replay after a restart, never an append. It is counted and the stray .tmp removed.
  auto st = io::write_file_atomically(fs, path, bytes);
  if (!st) {
    storage_metrics::get().snapshot_failures.inc();
    (void)fs.remove_file(path + ".tmp");
    return false;
  }
  return true;
}

void partition_log::write_producer_snapshot() {
  std::string path = _dir + "/" + segment_file_name(_log_end, ".snapshot");
  if (!write_snapshot_file(_fs, path, _producers.serialize(_log_end))) return;
  if (_snapshots.empty() || _snapshots.back() != _log_end) _snapshots.push_back(_log_end);
  prune_producer_snapshots();
}

void partition_log::prune_producer_snapshots() {
  // Keep the newest two that lie within the log: the newest is what a restart loads; the one
  // before is the fallback should the newest be unreadable. A file that is already gone (or
  // cannot be removed now) is forgotten: the next open cleans up what is left.
  {
    // Not while rolls' work is pending: their snapshots are listed but not yet written, and
    // a file removed before the flusher writes it would be left behind.
    std::lock_guard lock(_sync->mu);
    if (_sync->pending_rolls > 0) return;
  }
  offset first_base = _segments.begin()->first;
  while (!_snapshots.empty() && (_snapshots.size() > 2 || _snapshots.front() < first_base)) {
    if (!_fs.remove_file(_dir + "/" + segment_file_name(_snapshots.front(), ".snapshot"))) {
      storage_metrics::get().snapshot_failures.inc();
    }
    _snapshots.erase(_snapshots.begin());
  }
}

}  // namespace spate::storage
