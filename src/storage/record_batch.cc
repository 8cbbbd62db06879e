#include "storage/record_batch.h"

#include <algorithm>
#include <string>

#include "base/crc32c.h"
#include "base/varint.h"
#include "storage/compression.h"
#include "storage/errc.h"

namespace spate::storage {

namespace bl = batch_layout;
constexpr uint16_t bl_log_append_time = batch_attributes::timestamp_log_append;

batch_header batch_header::parse(bytes_view b) {
  SPATE_ASSERT(b.size() >= bl::header_size);
  batch_header h;
  h.base_offset = offset(load_be<int64_t>(b.data() + bl::base_offset));
  h.batch_length = load_be<int32_t>(b.data() + bl::batch_length);
  h.magic = static_cast<int8_t>(b[bl::magic]);
  h.crc = load_be<uint32_t>(b.data() + bl::crc);
  h.attributes = load_be<uint16_t>(b.data() + bl::attributes);
  h.last_offset_delta = load_be<int32_t>(b.data() + bl::last_offset_delta);
  h.base_timestamp = timestamp_ms(load_be<int64_t>(b.data() + bl::base_timestamp));
  h.max_timestamp = timestamp_ms(load_be<int64_t>(b.data() + bl::max_timestamp));
  h.producer_id = load_be<int64_t>(b.data() + bl::producer_id);
  h.producer_epoch = load_be<int16_t>(b.data() + bl::producer_epoch);
  h.base_sequence = load_be<int32_t>(b.data() + bl::base_sequence);
  h.records_count = load_be<int32_t>(b.data() + bl::records_count);
  return h;
}

bool plausible_header(bytes_view b, size_t max_batch_bytes) {
  if (b.size() < bl::header_size) return false;
  int32_t len = load_be<int32_t>(b.data() + bl::batch_length);
  if (len < static_cast<int32_t>(bl::header_size - bl::length_field_end)) return false;
  if (static_cast<size_t>(len) + bl::length_field_end > max_batch_bytes) return false;
  if (static_cast<int8_t>(b[bl::magic]) != 2) return false;
  int32_t count = load_be<int32_t>(b.data() + bl::records_count);
  int32_t delta = load_be<int32_t>(b.data() + bl::last_offset_delta);
  // The cleaner keeps a batch's offset span while removing records from it, and may keep a
  // batch with no records at all (docs/formats/compaction.md): fewer records than the span.
  return count >= 0 && delta >= 0 && delta >= count - 1;
}

bool crc_matches(bytes_view batch) {
  if (batch.size() < bl::header_size) return false;
  uint32_t stored = load_be<uint32_t>(batch.data() + bl::crc);
  return crc32c::value(batch.subspan(bl::attributes)) == stored;
}

void set_base_offset(mutable_bytes batch, offset base) {
  SPATE_ASSERT(batch.size() >= bl::header_size);
  store_be<int64_t>(batch.data() + bl::base_offset, base.value);
  store_be<int32_t>(batch.data() + bl::partition_leader_epoch, 0);
}

void set_log_append_time(mutable_bytes batch, timestamp_ms now) {
  SPATE_ASSERT(batch.size() >= bl::header_size);
  uint16_t attrs = load_be<uint16_t>(batch.data() + bl::attributes);
  store_be<uint16_t>(batch.data() + bl::attributes, attrs | batch_attributes::timestamp_log_append);
  store_be<int64_t>(batch.data() + bl::max_timestamp, now.value);
  store_be<uint32_t>(batch.data() + bl::crc,
                     crc32c::value(bytes_view(batch).subspan(bl::attributes)));
}

namespace {

// |a - b| without signed overflow: both come from untrusted bytes (any int64 is possible), and
// the distance between two int64 values always fits in a uint64.
uint64_t distance(int64_t a, int64_t b) {
  return a > b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
               : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
}

bool too_far_from_now(int64_t t, timestamp_ms now, int64_t max_difference_ms) {
  return max_difference_ms < 0 || distance(t, now.value) > static_cast<uint64_t>(max_difference_ms);
}

// A cursor over untrusted bytes: every read checks what is left.
struct cursor {
  bytes_view in;
  size_t pos = 0;

  // Most fields of a record (attributes aside: the deltas of a small batch, key and header
  // counts, short lengths) fit in one varint byte. That case is decoded here, inline, with the
  // same result the general decoder gives for it (a byte below 0x80 ends the varint and is
  // its whole value); anything longer goes to the general decoder and its checks.
  std::optional<int64_t> varlong() {
    if (pos < in.size() && in[pos] < 0x80) return varint::zigzag_decode(in[pos++]);
    auto d = varint::decode_varlong(in.subspan(pos));
    if (!d) return std::nullopt;
    pos += d->second;
    return d->first;
  }
  std::optional<int32_t> varint32() {
    if (pos < in.size() && in[pos] < 0x80) {
      return static_cast<int32_t>(varint::zigzag_decode(in[pos++]));
    }
    auto d = varint::decode_varint(in.subspan(pos));
    if (!d) return std::nullopt;
    pos += d->second;
    return d->first;
  }
  // A varint length then that many bytes; -1 means null (allowed only if `nullable`).
  bool bytes_field(bool nullable, std::optional<bytes_view>& out) {
    auto len = varint32();
    if (!len) return false;
    if (*len < 0) {
      if (*len != -1 || !nullable) return false;
      out.reset();
      return true;
    }
    if (static_cast<size_t>(*len) > in.size() - pos) return false;
    out = in.subspan(pos, static_cast<size_t>(*len));
    pos += static_cast<size_t>(*len);
    return true;
  }
};

error invalid(std::string what) {
  return error(errc::invalid_records, std::move(what));
}

// The records of a batch with header `h`, laid out back to back in `records` (the batch body,
// or its decompressed form). A template over the callback, so that validate_batch's check of
// each record is inlined into the walk rather than called through a std::function.
template <class Fn>
status iterate_records(const batch_header& h, bytes_view records, Fn&& fn) {
  cursor c{records};
  int32_t previous_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    auto length = c.varint32();
    if (!length || *length < 0 || static_cast<size_t>(*length) > c.in.size() - c.pos) {
      return invalid("record " + std::to_string(i) + ": bad length");
    }
    size_t end = c.pos + static_cast<size_t>(*length);
    cursor r{c.in.first(end), c.pos};
    record_view rec;
    if (r.pos >= end) return invalid("record " + std::to_string(i) + ": truncated");
    ++r.pos;  // attributes (unused)
    auto ts_delta = r.varlong();
    auto off_delta = r.varint32();
    if (!ts_delta || !off_delta) return invalid("record " + std::to_string(i) + ": bad deltas");
    // Increasing and within the batch's span: a compacted batch has gaps (the removed
    // records). With validate_batch's recordsCount == lastOffsetDelta + 1 this still forces a
    // produced batch's deltas to be exactly 0..n-1.
    if (*off_delta <= previous_delta || *off_delta > h.last_offset_delta) {
      return invalid("record " + std::to_string(i) + ": offset delta " +
                     std::to_string(*off_delta));
    }
    previous_delta = *off_delta;
    // The base offset is whatever the producer wrote until the log assigns one, so it may be
    // anything: wrap rather than overflow (a stored batch's offsets never come near it).
    rec.off = offset(static_cast<int64_t>(static_cast<uint64_t>(h.base_offset.value) +
                                          static_cast<uint64_t>(*off_delta)));
    int64_t ts;
    if (__builtin_add_overflow(h.base_timestamp.value, *ts_delta, &ts)) {
      return invalid("record " + std::to_string(i) + ": timestamp overflows");
    }
    rec.timestamp = timestamp_ms(ts);
    if (!r.bytes_field(true, rec.key) || !r.bytes_field(true, rec.value)) {
      return invalid("record " + std::to_string(i) + ": bad key or value");
    }
    auto headers = r.varint32();
    if (!headers || *headers < 0) return invalid("record " + std::to_string(i) + ": bad headers");
    rec.headers_count = *headers;
    size_t headers_start = r.pos;
    for (int32_t k = 0; k < *headers; ++k) {
      std::optional<bytes_view> hk;
      std::optional<bytes_view> hv;
      if (!r.bytes_field(false, hk) || !r.bytes_field(true, hv)) {
        return invalid("record " + std::to_string(i) + ": bad header " + std::to_string(k));
      }
    }
    if (r.pos != end) return invalid("record " + std::to_string(i) + ": length mismatch");
    rec.raw_headers = r.in.subspan(headers_start, end - headers_start);
    c.pos = end;
    if (!fn(rec)) return ok();
  }
  if (c.pos != c.in.size()) return invalid("trailing bytes after the last record");
  return ok();
}

template <class Fn>
status walk_records(bytes_view batch, Fn&& fn, size_t max_decompressed_bytes) {
  auto h = batch_header::parse(batch);
  bytes_view body = batch.subspan(bl::header_size);
  if (h.codec() == compression::none) return iterate_records(h, body, fn);
  if (static_cast<uint8_t>(h.codec()) > static_cast<uint8_t>(compression::zstd)) {
    return error(errc::unsupported_compression,
                 "codec " + std::to_string(static_cast<int>(h.codec())));
  }
  // A record takes at least 7 bytes; the hint only sizes the first allocation.
  size_t hint =
      std::max<size_t>(body.size() * 4, static_cast<size_t>(std::max(h.records_count, 0)) * 8);
  auto records =
      decompress(h.codec(), body, std::min(hint, max_decompressed_bytes), max_decompressed_bytes);
  if (!records) return std::move(records).error();
  return iterate_records(h, *records, fn);
}

}  // namespace

status for_each_record(bytes_view batch, const std::function<bool(const record_view&)>& fn,
                       size_t max_decompressed_bytes) {
  return walk_records(batch, fn, max_decompressed_bytes);
}

result<batch_info> validate_batch(bytes_view batch, const batch_limits& limits, timestamp_ms now) {
  if (batch.size() < bl::header_size) {
    return error(errc::batch_too_small, std::to_string(batch.size()) + " bytes");
  }
  if (batch.size() > limits.max_batch_bytes) {
    return error(errc::batch_too_large, std::to_string(batch.size()) + " bytes > " +
                                            std::to_string(limits.max_batch_bytes));
  }
  auto h = batch_header::parse(batch);
  if (h.batch_length < 0 || h.total_size() != batch.size()) {
    return error(errc::batch_length_mismatch, "batchLength " + std::to_string(h.batch_length) +
                                                  " for " + std::to_string(batch.size()) +
                                                  " bytes");
  }
  if (h.magic != 2) return error(errc::unsupported_magic, "magic " + std::to_string(h.magic));
  if (!crc_matches(batch)) return error(errc::corrupt_batch);
  if (h.records_count <= 0 || h.last_offset_delta != h.records_count - 1) {
    return error(errc::invalid_record_count, "recordsCount " + std::to_string(h.records_count) +
                                                 ", lastOffsetDelta " +
                                                 std::to_string(h.last_offset_delta));
  }
  if (static_cast<uint8_t>(h.codec()) > static_cast<uint8_t>(compression::zstd)) {
    return error(errc::unsupported_compression,
                 "codec " + std::to_string(static_cast<int>(h.codec())));
  }
  if (h.is_control() && !limits.allow_control) return error(errc::control_batch_not_allowed);
  if (h.base_timestamp.value >= 0 && h.max_timestamp.value >= 0 &&
      h.max_timestamp < h.base_timestamp) {
    return error(errc::invalid_timestamp, "maxTimestamp before baseTimestamp");
  }
  if (limits.max_timestamp_difference_ms != INT64_MAX &&
      !(h.attributes & batch_attributes::timestamp_log_append)) {
    for (auto t : {h.base_timestamp, h.max_timestamp}) {
      if (too_far_from_now(t.value, now, limits.max_timestamp_difference_ms)) {
        return error(errc::invalid_timestamp,
                     "timestamp " + std::to_string(t.value) + " too far from now");
      }
    }
  }
  {
    // The offsets inside the batch are relative to the base offset the log assigns, so the
    // check does not depend on what the producer wrote there. The header's maxTimestamp feeds
    // the time index and retention, so it must be the records' true maximum. A compressed
    // batch is decompressed for the check, as Kafka's LogValidator does, but stored as sent.
    bool log_append = h.attributes & bl_log_append_time;
    int64_t max_ts = INT64_MIN;
    int32_t seen = 0;
    std::optional<error> bad_record;
    auto each = [&](const record_view& r) {
      max_ts = std::max(max_ts, r.timestamp.value);
      ++seen;
      if (limits.require_keys && !r.key) {
        bad_record = error(errc::invalid_records,
                           "compacted topic: record " + std::to_string(seen - 1) + " has no key");
        return false;
      }
      if (!log_append && limits.max_timestamp_difference_ms != INT64_MAX) {
        int64_t t = r.timestamp.value;
        if (too_far_from_now(t, now, limits.max_timestamp_difference_ms)) {
          bad_record = error(errc::invalid_timestamp,
                             "record timestamp " + std::to_string(t) + " too far from now");
          return false;
        }
      }
      return true;
    };
    SPATE_TRY(walk_records(batch, each, limits.max_decompressed_bytes));
    if (bad_record) return *bad_record;
    if (seen != h.records_count) return error(errc::invalid_records, "record count");
    if (!log_append && max_ts != h.max_timestamp.value) {
      return error(errc::invalid_timestamp,
                   "maxTimestamp " + std::to_string(h.max_timestamp.value) +
                       " is not the records' maximum " + std::to_string(max_ts));
    }
  }
  return batch_info{h, batch.size()};
}

}  // namespace spate::storage
