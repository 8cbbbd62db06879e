// The cleaner (log_cleaner.h) and the partition_log members that plan, commit and recover
// it; kept apart from partition_log.cc so the append path stays where it is. Format:
// docs/formats/compaction.md.
#include "storage/log_cleaner.h"

#include <algorithm>
#include <cstdio>

#include "base/crc32c.h"
#include "base/varint.h"
#include "storage/batch_writer.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"
#include "storage/storage_metrics.h"

namespace spate::storage {
namespace {

namespace bl = batch_layout;

// cleaner.checkpoint, version 1 (docs/formats/compaction.md): the offset below which the log
// has been cleaned, so min.cleanable.dirty.ratio survives a restart.
constexpr const char* checkpoint_name = "cleaner.checkpoint";
constexpr uint8_t checkpoint_magic[4] = {'S', 'P', 'C', 'K'};
constexpr uint16_t checkpoint_version = 1;
constexpr size_t checkpoint_size = 4 + 2 + 2 + 8 + 4;

// Index positions are 32-bit; a cleaned segment that would outgrow them is not written.
constexpr uint64_t max_segment_file = (1ull << 31) - 1;

std::string cleaned_name(offset base) {
  return segment_file_name(base, ".cleaned");
}

// "<base>.<last base>.swap": replaces every segment whose base is in [base, last base].
std::string swap_name(offset base, offset last) {
  return segment_file_name(base, "") + "." + segment_file_name(last, ".swap");
}

std::optional<offset> parse_offset20(const std::string& s) {
  if (s.size() != 20) return std::nullopt;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    if (v > (INT64_MAX - (ch - '0')) / 10) return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  return offset(v);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Reads the batches of a closed segment file one by one. The file was synced at roll and
// checked at open (index) or scan; headers are still checked before they steer the walk.
class batch_walker {
 public:
  batch_walker(io::file& f, uint64_t size) : _f(f), _size(size) {}

  // The next whole batch, or an empty view at the end.
  result<bytes_view> next() {
    if (_pos >= _size) return bytes_view{};
    uint8_t head[bl::header_size];
    if (_pos + sizeof head > _size) return corrupt("incomplete batch header");
    SPATE_TRY(read_exact(_pos, head));
    auto h = batch_header::parse(head);
    if (h.total_size() < bl::header_size || _pos + h.total_size() > _size) {
      return corrupt("implausible batch length");
    }
    _buf.resize(h.total_size());
    SPATE_TRY(read_exact(_pos, _buf));
    if (!crc_matches(_buf)) return corrupt("CRC-32C mismatch");
    _pos += h.total_size();
    return bytes_view(_buf);
  }
  bool at_end() const { return _pos >= _size; }

 private:
  status read_exact(uint64_t pos, mutable_bytes into) {
    auto n = _f.read_at(pos, into);
    if (!n) return n.error();
    if (*n != into.size()) return corrupt("short read");
    return ok();
  }
  error corrupt(const std::string& why) const {
    return error(errc::corrupt_batch,
                 _f.path() + " at position " + std::to_string(_pos) + ": " + why);
  }

  io::file& _f;
  uint64_t _size;
  uint64_t _pos = 0;
  byte_buffer _buf;
};

// One record re-encoded with its original offset and timestamp deltas (relative to the
// original batch's base offset and base timestamp, which the rebuilt batch keeps).
void encode_record(byte_buffer& out, const batch_header& h, const record_view& r) {
  byte_buffer rec;
  rec.push_back(0);  // record attributes: unused in v2
  varint::append_signed(rec, r.timestamp.value - h.base_timestamp.value);
  varint::append_signed(rec, r.off - h.base_offset);
  put_nullable(rec, r.key);
  put_nullable(rec, r.value);
  varint::append_signed(rec, r.headers_count);
  append_bytes(rec, r.raw_headers);
  varint::append_signed(out, static_cast<int64_t>(rec.size()));
  append_bytes(out, rec);
}

// A batch with the original header fields (base offset, lastOffsetDelta, timestamps, producer
// id, epoch and base sequence, transactional and timestamp-type bits) around `records`
// (`count` of them, uncompressed), with its CRC-32C. See compaction.md for why uncompressed.
byte_buffer rebuild_batch(bytes_view original, bytes_view records, int32_t count) {
  byte_buffer out(original.begin(), original.begin() + bl::header_size);
  uint16_t attrs = load_be<uint16_t>(out.data() + bl::attributes);
  attrs &= static_cast<uint16_t>(~batch_attributes::codec_mask);
  store_be<uint16_t>(out.data() + bl::attributes, attrs);
  store_be<int32_t>(out.data() + bl::batch_length,
                    static_cast<int32_t>(bl::header_size - bl::length_field_end + records.size()));
  store_be<int32_t>(out.data() + bl::records_count, count);
  append_bytes(out, records);
  store_be<uint32_t>(out.data() + bl::crc, crc32c::value(bytes_view(out).subspan(bl::attributes)));
  return out;
}

}  // namespace

// ---- clean_job ----

clean_job::~clean_job() {
  remove_leftovers();
}

void clean_job::remove_leftovers() {
  for (auto& g : _groups) {
    if (g.cleaned_path.empty()) continue;
    g.cleaned.reset();
    g.out.reset();
    (void)_fs->remove_file(g.cleaned_path);  // best-effort: the next open removes it anyway
    g.cleaned_path.clear();
  }
}

status clean_job::build_key_map() {
  // Only the dirty part: below first_dirty every key already appears once, and a record
  // there survives unless the dirty part holds a newer one.
  size_t map_bytes = 0;
  bool mapped_one = false;
  for (size_t gi = 0; gi < _groups.size(); ++gi) {
    auto& g = _groups[gi];
    for (size_t si = 0; si < g.sources.size(); ++si) {
      auto& s = g.sources[si];
      if (s.base < _first_dirty) continue;
      if (mapped_one && map_bytes > _map_budget) {
        // Full: this pass ends here. What follows is left as it is, dirty, for the next pass.
        _end = s.base;
        g.sources.resize(si);
        _groups.resize(g.sources.empty() ? gi : gi + 1);
        return ok();
      }
      mapped_one = true;
      batch_walker walk(*s.file, s.size);
      for (;;) {
        auto b = walk.next();
        if (!b) return b.error();
        if (b->empty()) break;
        auto h = batch_header::parse(*b);
        if (h.is_control()) continue;
        SPATE_TRY(for_each_record(*b, [&](const record_view& r) {
          if (r.key) {
            std::string key(reinterpret_cast<const char*>(r.key->data()), r.key->size());
            size_t cost = key.size() + 64;  // the string, the node, the bucket: roughly
            auto [it, inserted] = _newest.try_emplace(std::move(key), r.off);
            if (inserted) map_bytes += cost;
            if (!inserted && it->second < r.off) it->second = r.off;
          }
          return true;
        }));
      }
    }
  }
  return ok();
}

status clean_job::write_group(group& g, bool last_group) {
  offset base = g.sources.front().base;
  g.cleaned_path = _dir + "/" + cleaned_name(base);
  auto f = _fs->open(g.cleaned_path, io::open_mode::read_write_create);
  if (!f) return f.error();
  g.out = *f;
  SPATE_TRY(g.out->truncate(0));
  g.changed = g.sources.size() > 1;
  int64_t tombstone_horizon = _now.value - _config.delete_retention_ms;
  uint64_t out_pos = 0;
  byte_buffer pending;          // written in large pieces
  byte_buffer last_data_batch;  // header only: kept empty if the last group ends up empty
  auto flush_pending = [&]() -> status {
    if (pending.empty()) return ok();
    if (out_pos + pending.size() > max_segment_file) {
      return error(errc::invalid_config, "cleaned segment " + g.cleaned_path +
                                             " would exceed 2 GiB (lower segment.bytes)");
    }
    SPATE_TRY(g.out->write_at(out_pos, pending));
    out_pos += pending.size();
    pending.clear();
    return ok();
  };
  for (size_t si = 0; si < g.sources.size(); ++si) {
    auto& s = g.sources[si];
    ++_stats.segments_read;
    _stats.bytes_read += s.size;
    batch_walker walk(*s.file, s.size);
    for (;;) {
      auto b = walk.next();
      if (!b) return b.error();
      if (b->empty()) break;
      auto h = batch_header::parse(*b);
      if (h.is_control()) {
        // Transaction markers are kept as they are (transactions are not cleaned yet).
        append_bytes(pending, *b);
      } else {
        last_data_batch.assign(b->begin(), b->begin() + bl::header_size);
        byte_buffer kept;
        int32_t kept_count = 0;
        int32_t seen = 0;
        SPATE_TRY(for_each_record(*b, [&](const record_view& r) {
          ++seen;
          bool keep = false;
          if (!r.key) {
            ++_stats.records_removed;  // only from before the topic became compacted
          } else {
            std::string key(reinterpret_cast<const char*>(r.key->data()), r.key->size());
            auto it = _newest.find(key);
            bool newest = it == _newest.end() || it->second <= r.off;
            if (!newest) {
              ++_stats.records_removed;
            } else if (!r.value && h.max_timestamp.value < tombstone_horizon) {
              ++_stats.tombstones_removed;
            } else {
              keep = true;
            }
          }
          if (keep) {
            encode_record(kept, h, r);
            ++kept_count;
          }
          return true;
        }));
        if (kept_count == seen) {
          append_bytes(pending, *b);  // untouched: stored as it was, compressed or not
        } else {
          g.changed = true;
          auto pid = _producer_last.find(h.producer_id);
          bool producer_last =
              h.producer_id >= 0 && pid != _producer_last.end() && pid->second == h.base_offset;
          if (kept_count > 0) {
            append_bytes(pending, rebuild_batch(*b, kept, kept_count));
          } else if (producer_last) {
            // Kept empty: a producer's newest batch carries its sequence state (compaction.md).
            append_bytes(pending, rebuild_batch(*b, {}, 0));
            ++_stats.batches_emptied;
          }
        }
      }
      if (pending.size() >= (1u << 20)) SPATE_TRY(flush_pending());
    }
  }
  if (out_pos == 0 && pending.empty()) {
    if (!last_group) {
      g.nothing_left = true;  // run() hands these segments to the next group
      return ok();
    }
    // Only old tombstones were left, in the group next to the uncleaned part: one empty batch
    // keeps the segment's base and end, so the offsets stay covered and the log start stays.
    if (!last_data_batch.empty()) {
      append_bytes(pending,
                   rebuild_batch(bytes_view(last_data_batch).first(bl::header_size), {}, 0));
      ++_stats.batches_emptied;
    }
  }
  SPATE_TRY(flush_pending());
  if (!g.changed) {
    // Nothing to gain: leave the segment as it is.
    g.out.reset();
    SPATE_TRY(_fs->remove_file(g.cleaned_path));
    g.cleaned_path.clear();
    return ok();
  }
  SPATE_TRY(g.out->sync_data());
  auto seg = segment::adopt(*_fs, _dir, base, _config.index_interval_bytes,
                            std::max<uint64_t>(_config.max_batch_bytes, max_segment_file), g.out);
  if (!seg) return seg.error();
  g.cleaned = std::move(*seg);
  ++_stats.segments_written;
  _stats.bytes_written += out_pos;
  return ok();
}

status clean_job::run() {
  SPATE_ASSERT(!_ran);
  _ran = true;
  auto st = build_key_map();
  for (size_t i = 0; st && i < _groups.size(); ++i) {
    group& g = _groups[i];
    bool last = i + 1 == _groups.size();
    cleaner_stats before = _stats;
    st = write_group(g, last);
    if (!st || !g.nothing_left) continue;
    _stats = before;  // its segments are read and counted again with the next group
    // Nothing of these segments survives. Rather than a file of nothing (which would move the
    // log start after a restart) they join the next group, whose file then starts at their
    // base offset.
    g.out.reset();
    st = _fs->remove_file(g.cleaned_path);
    g.cleaned_path.clear();
    auto& next = _groups[i + 1].sources;
    next.insert(next.begin(), g.sources.begin(), g.sources.end());
    g.sources.clear();
  }
  _newest.clear();
  if (!st) {
    remove_leftovers();
    return st;
  }
  return ok();
}

// ---- partition_log members ----

result<std::unique_ptr<clean_job>> partition_log::plan_clean(timestamp_ms now, bool force) {
  if (_closed) return error(errc::log_closed, _dir);
  if (auto f = failure()) return error(errc::log_failed, _dir + ": " + f->message());
  std::unique_ptr<clean_job> none;
  if (!_config.cleanup_compact || _cleaner_stuck || _segments.size() < 2) return none;
  // A closed segment's roll work (its sync and index, on the flusher) must be done before the
  // cleaner may replace it: late roll work would write the old index over the cleaned one,
  // and recovery trusts segments below the checkpoint to be whole.
  wait_for_rolls();
  // The closed segments, oldest first, up to the first one still inside
  // min.compaction.lag.ms (never the active one).
  std::vector<clean_job::source> sources;
  for (auto it = _segments.begin(); std::next(it) != _segments.end(); ++it) {
    const segment& seg = *it->second;
    if (_config.min_compaction_lag_ms > 0 &&
        seg.max_timestamp().value > now.value - _config.min_compaction_lag_ms) {
      break;
    }
    sources.push_back({seg.base(), seg.next_offset(), seg.size(), seg.log_file(), &seg});
  }
  if (sources.empty()) return none;
  offset end = std::next(_segments.find(sources.back().base))->first;
  offset first_dirty = std::max(_clean_checkpoint, sources.front().base);
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  for (auto& s : sources) (s.base < first_dirty ? clean_bytes : dirty_bytes) += s.size;
  if (dirty_bytes == 0) return none;
  double ratio = static_cast<double>(dirty_bytes) / static_cast<double>(clean_bytes + dirty_bytes);
  if (!force && ratio < _config.min_cleanable_dirty_ratio) return none;

  std::unique_ptr<clean_job> job(new clean_job());
  job->_fs = &_fs;
  job->_dir = _dir;
  job->_config = _config;
  job->_now = now;
  job->_first_dirty = first_dirty;
  job->_end = end;
  for (auto& [pid, entry] : _producers.entries()) {
    if (!entry.batches.empty()) job->_producer_last[pid] = entry.batches.back().first_offset;
  }
  // Neighbours are merged while their sizes before cleaning fit in one segment, so a log of
  // many small cleaned segments does not keep one file per roll forever.
  for (auto& s : sources) {
    bool start_new = job->_groups.empty();
    if (!start_new) {
      auto& g = job->_groups.back();
      uint64_t total = 0;
      for (auto& x : g.sources) total += x.size;
      start_new = total + s.size > _config.segment_bytes ||
                  s.next - g.sources.front().base >= static_cast<int64_t>(UINT32_MAX) - 1;
    }
    if (start_new) job->_groups.emplace_back();
    job->_groups.back().sources.push_back(s);
  }
  return job;
}

status partition_log::swap_in(clean_job& job, size_t gi) {
  auto& g = job._groups[gi];
  offset base = g.sources.front().base;
  offset last = g.sources.back().base;
  std::string swap = _dir + "/" + swap_name(base, last);
  // The commit point: once the swap file exists (and its name is durable) recovery finishes
  // the replacement; before, it deletes the .cleaned file and nothing has changed.
  SPATE_TRY(_fs.rename(g.cleaned_path, swap));
  g.cleaned_path.clear();
  if (auto st = _fs.sync_dir(_dir); !st) {
    _cleaner_stuck = true;
    return std::move(st).error().with_context("after the commit point; the next open completes it");
  }
  auto finish = [&]() -> status {
    for (auto& s : g.sources) {
      if (s.base != base)
        SPATE_TRY(_fs.remove_file(_dir + "/" + segment_file_name(s.base, ".log")));
      auto idx = _dir + "/" + segment_file_name(s.base, ".index");
      auto exists = _fs.exists(idx);
      if (!exists) return exists.error();
      if (*exists) SPATE_TRY(_fs.remove_file(idx));
    }
    SPATE_TRY(_fs.rename(swap, _dir + "/" + segment_file_name(base, ".log")));
    return _fs.sync_dir(_dir);
  };
  if (auto st = finish(); !st) {
    _cleaner_stuck = true;
    return std::move(st).error().with_context("after the commit point; the next open completes it");
  }
  for (auto& s : g.sources) _segments.erase(s.base);
  segment& fresh = *g.cleaned;
  _segments.emplace(base, std::move(g.cleaned));
  // The index spares the next open a scan; without it the open rebuilds it.
  if (!fresh.persist_index()) storage_metrics::get().cleaner_failures.inc();
  return ok();
}

status partition_log::commit_clean(clean_job& job) {
  if (_closed) return error(errc::log_closed, _dir);
  if (auto f = failure()) return error(errc::log_failed, _dir + ": " + f->message());
  SPATE_ASSERT(job._ran);
  // Retention or delete-records may have removed segments while the job ran: then the job's
  // view is stale and it is dropped whole (its files are removed by its destructor).
  for (auto& g : job._groups) {
    for (auto& s : g.sources) {
      auto it = _segments.find(s.base);
      if (it == _segments.end() || it->second.get() != s.seg || it->second->size() != s.size ||
          std::next(it) == _segments.end()) {
        return error(errc::offset_out_of_range,
                     "segment " + segment_file_name(s.base, ".log") + " changed while cleaning");
      }
    }
  }
  // The checkpoint first, durably: recovery exempts segments below it from the unfinished-roll
  // rule (a cleaned segment may end early and may lack an index after a crash past a swap's
  // commit point). If no swap follows (a crash, a failure), it only makes the next pass treat
  // those segments as cleaned, which is correct, only less thorough.
  offset checkpoint = std::max(_clean_checkpoint, job._end);
  byte_buffer cp(std::begin(checkpoint_magic), std::end(checkpoint_magic));
  append_be<uint16_t>(cp, checkpoint_version);
  append_be<uint16_t>(cp, 0);
  append_be<int64_t>(cp, checkpoint.value);
  append_be<uint32_t>(cp, crc32c::value(cp));
  if (auto st = io::write_file_atomically(_fs, _dir + "/" + checkpoint_name, cp); !st) {
    (void)_fs.remove_file(_dir + "/" + checkpoint_name + ".tmp");
    return std::move(st).error().with_context("writing the cleaner checkpoint");
  }
  _clean_checkpoint = checkpoint;
  for (size_t gi = 0; gi < job._groups.size(); ++gi) {
    if (!job._groups[gi].cleaned) continue;
    SPATE_TRY(swap_in(job, gi));
  }
  return ok();
}

void partition_log::load_cleaner_checkpoint() {
  _clean_checkpoint = _segments.begin()->first;
  auto content = io::read_whole_file(_fs, _dir + "/" + checkpoint_name);
  if (!content || content->size() != checkpoint_size) return;
  bytes_view b = *content;
  if (!std::equal(std::begin(checkpoint_magic), std::end(checkpoint_magic), b.begin()) ||
      read_be<uint16_t>(b, 4) != checkpoint_version ||
      crc32c::value(b.first(b.size() - 4)) != load_be<uint32_t>(b.data() + b.size() - 4)) {
    return;  // only a hint: cleaning from the start is always correct
  }
  offset at(read_be<int64_t>(b, 8));
  // Past the active segment's base it would call uncleaned data clean.
  _clean_checkpoint = std::clamp(at, _segments.begin()->first, active().base());
}

status partition_log::recover_swaps(log_recovery_report& report) {
  auto names = _fs.list_dir(_dir);
  if (!names) return names.error();
  std::vector<offset> logs;
  for (auto& name : *names) {
    if (name.size() == 24 && ends_with(name, ".log")) {
      if (auto b = parse_offset20(name.substr(0, 20))) logs.push_back(*b);
    }
  }
  bool changed = false;
  for (auto& name : *names) {
    if (ends_with(name, ".cleaned")) {
      // Not yet committed: the segments it would have replaced are all still there.
      SPATE_TRY(_fs.remove_file(_dir + "/" + name));
      report.notes.push_back("removed " + name + " (cleaning interrupted before its swap)");
      changed = true;
      continue;
    }
    if (!ends_with(name, ".swap")) continue;
    auto base = name.size() == 46 ? parse_offset20(name.substr(0, 20)) : std::nullopt;
    auto last =
        name.size() == 46 && name[20] == '.' ? parse_offset20(name.substr(21, 20)) : std::nullopt;
    if (!base || !last || *last < *base) {
      return error(errc::corrupt_metadata, _dir + "/" + name + ": not a cleaner swap file name");
    }
    // Synced before it was renamed to .swap, so it is whole: finish what the crash stopped.
    for (offset b : logs) {
      if (b < *base || b > *last) continue;
      for (const char* ext : {".log", ".index"}) {
        std::string p = _dir + "/" + segment_file_name(b, ext);
        auto exists = _fs.exists(p);
        if (!exists) return exists.error();
        if (*exists) SPATE_TRY(_fs.remove_file(p));
      }
    }
    std::string idx = _dir + "/" + segment_file_name(*base, ".index");
    auto idx_exists = _fs.exists(idx);
    if (!idx_exists) return idx_exists.error();
    if (*idx_exists) SPATE_TRY(_fs.remove_file(idx));
    SPATE_TRY(_fs.rename(_dir + "/" + name, _dir + "/" + segment_file_name(*base, ".log")));
    report.notes.push_back("completed an interrupted cleaner swap: " + name);
    changed = true;
  }
  if (changed) SPATE_TRY(_fs.sync_dir(_dir));
  return ok();
}

// ---- one pass ----

result<std::optional<cleaner_stats>> clean_log(partition_log& log, timestamp_ms now,
                                               const owner_runner& on_owner) {
  auto& m = storage_metrics::get();
  result<std::unique_ptr<clean_job>> planned = std::unique_ptr<clean_job>();
  on_owner([&] { planned = log.plan_clean(now); });
  if (!planned) return planned.error();
  std::unique_ptr<clean_job> job = std::move(*planned);
  if (!job) return std::optional<cleaner_stats>{};
  auto st = job->run();
  if (st) on_owner([&] { st = log.commit_clean(*job); });
  if (!st) {
    m.cleaner_failures.inc();
    job.reset();  // removes its leftover files
    return std::move(st).error().with_context("cleaning " + log.dir());
  }
  const cleaner_stats& s = job->stats();
  m.cleaner_passes.inc();
  m.cleaner_bytes_read.inc(s.bytes_read);
  m.cleaner_bytes_written.inc(s.bytes_written);
  m.cleaner_records_removed.inc(s.records_removed);
  m.cleaner_tombstones_removed.inc(s.tombstones_removed);
  return std::optional<cleaner_stats>(s);
}

}  // namespace spate::storage
