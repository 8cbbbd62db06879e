#include "storage/producer_state.h"

#include <string>

#include "base/be_cursor.h"
#include "base/crc32c.h"
#include "storage/errc.h"

namespace spate::storage {
namespace {

constexpr uint8_t snapshot_magic[4] = {'S', 'P', 'P', 'S'};
constexpr uint16_t snapshot_version = 1;

bool follows(int32_t last, int32_t next) {
  return last == INT32_MAX ? next == 0 : next == last + 1;
}

}  // namespace

int32_t last_sequence_of(int32_t first, int32_t last_offset_delta) {
  int64_t last = int64_t{first} + last_offset_delta;
  if (last > INT32_MAX) last -= int64_t{INT32_MAX} + 1;
  return static_cast<int32_t>(last);
}

result<producer_check> producer_state::check(const batch_header& h) const {
  producer_check out;
  if (h.producer_id < 0) return out;
  if (h.producer_epoch < 0 || h.base_sequence < 0) {
    return error(errc::invalid_records, "idempotent batch of producer " +
                                            std::to_string(h.producer_id) + " has epoch " +
                                            std::to_string(h.producer_epoch) + ", sequence " +
                                            std::to_string(h.base_sequence));
  }
  auto it = _entries.find(h.producer_id);
  if (it == _entries.end()) return out;  // unknown producer: any sequence
  const producer_entry& e = it->second;
  int32_t first = h.base_sequence;
  int32_t last = last_sequence_of(first, h.last_offset_delta);
  if (h.producer_epoch < e.epoch) {
    return error(errc::invalid_producer_epoch, "producer " + std::to_string(h.producer_id) +
                                                   " epoch " + std::to_string(h.producer_epoch) +
                                                   " is older than the current epoch " +
                                                   std::to_string(e.epoch));
  }
  if (h.producer_epoch > e.epoch) {
    // A new epoch restarts the numbering.
    if (first != 0) {
      return error(errc::out_of_order_sequence,
                   "producer " + std::to_string(h.producer_id) + " new epoch " +
                       std::to_string(h.producer_epoch) + " must start at sequence 0, not " +
                       std::to_string(first));
    }
    return out;
  }
  for (const auto& b : e.batches) {
    if (b.first_sequence == first && b.last_sequence == last) {
      out.duplicate = b;
      return out;
    }
  }
  if (e.batches.empty()) return out;  // restored with an epoch but no batches: start fresh
  int32_t expected_after = e.batches.back().last_sequence;
  if (!follows(expected_after, first)) {
    return error(errc::out_of_order_sequence, "producer " + std::to_string(h.producer_id) +
                                                  " epoch " + std::to_string(h.producer_epoch) +
                                                  " sent sequence " + std::to_string(first) +
                                                  " after " + std::to_string(expected_after));
  }
  return out;
}

void producer_state::record(const batch_header& h) {
  if (h.producer_id < 0) return;
  producer_entry& e = _entries[h.producer_id];
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  producer_batch b;
  b.first_sequence = h.base_sequence;
  b.last_sequence = last_sequence_of(h.base_sequence, h.last_offset_delta);
  b.first_offset = h.base_offset;
  b.last_offset = h.last_offset();
  b.max_timestamp = h.max_timestamp.value;
  e.batches.push_back(b);
  while (e.batches.size() > max_cached_batches) e.batches.pop_front();
  e.last_timestamp = std::max(e.last_timestamp, b.max_timestamp);
}

void producer_state::remove_below(offset log_start) {
  for (auto it = _entries.begin(); it != _entries.end();) {
    const auto& batches = it->second.batches;
    if (!batches.empty() && batches.back().last_offset < log_start) {
      it = _entries.erase(it);
    } else {
      ++it;
    }
  }
}

void producer_state::expire(int64_t oldest_kept_ms) {
  for (auto it = _entries.begin(); it != _entries.end();) {
    if (it->second.last_timestamp >= 0 && it->second.last_timestamp < oldest_kept_ms) {
      it = _entries.erase(it);
    } else {
      ++it;
    }
  }
}

byte_buffer producer_state::serialize(offset at) const {
  byte_buffer out(std::begin(snapshot_magic), std::end(snapshot_magic));
  append_be<uint16_t>(out, snapshot_version);
  append_be<uint16_t>(out, 0);
  append_be<int64_t>(out, at.value);
  append_be<uint32_t>(out, static_cast<uint32_t>(_entries.size()));
  for (const auto& [pid, e] : _entries) {
    append_be<int64_t>(out, pid);
    append_be<int16_t>(out, e.epoch);
    append_be<int64_t>(out, e.last_timestamp);
    append_be<uint8_t>(out, static_cast<uint8_t>(e.batches.size()));
    for (const auto& b : e.batches) {
      append_be<int32_t>(out, b.first_sequence);
      append_be<int32_t>(out, b.last_sequence);
      append_be<int64_t>(out, b.first_offset.value);
      append_be<int64_t>(out, b.last_offset.value);
      append_be<int64_t>(out, b.max_timestamp);
    }
  }
  append_be<uint32_t>(out, crc32c::value(out));
  return out;
}

result<producer_state> producer_state::load(bytes_view bytes, offset expected_at) {
  auto corrupt = [](const std::string& why) {
    return error(errc::corrupt_metadata, "producer snapshot: " + why);
  };
  if (bytes.size() < 24) return corrupt("too short");
  if (!std::equal(std::begin(snapshot_magic), std::end(snapshot_magic), bytes.begin())) {
    return corrupt("bad magic");
  }
  if (crc32c::value(bytes.first(bytes.size() - 4)) !=
      load_be<uint32_t>(bytes.data() + bytes.size() - 4)) {
    return corrupt("checksum mismatch");
  }
  be_cursor c{bytes.first(bytes.size() - 4), 4};
  auto version = c.num<uint16_t>();
  if (version != snapshot_version) return corrupt("version " + std::to_string(version));
  (void)c.num<uint16_t>();
  offset at(c.num<int64_t>());
  // No log gets near INT64_MAX, and the bound leaves room for a batch's offset delta, so that
  // last_offset() of a batch checked against this state cannot overflow.
  constexpr int64_t max_offset = INT64_MAX - (int64_t{1} << 32);
  if (c.ok && (at.value < 0 || at.value > max_offset)) {
    return corrupt("taken at offset " + std::to_string(at.value));
  }
  if (at != expected_at) {
    return corrupt("taken at offset " + std::to_string(at.value) + ", named " +
                   std::to_string(expected_at.value));
  }
  producer_state s;
  auto n = c.num<uint32_t>();
  for (uint32_t i = 0; i < n && c.ok; ++i) {
    auto pid = c.num<int64_t>();
    producer_entry e;
    e.epoch = c.num<int16_t>();
    e.last_timestamp = c.num<int64_t>();
    auto nb = c.num<uint8_t>();
    if (nb > max_cached_batches) return corrupt("too many batches");
    for (uint8_t j = 0; j < nb; ++j) {
      producer_batch b;
      b.first_sequence = c.num<int32_t>();
      b.last_sequence = c.num<int32_t>();
      b.first_offset = offset(c.num<int64_t>());
      b.last_offset = offset(c.num<int64_t>());
      b.max_timestamp = c.num<int64_t>();
      // Every batch it records lies below the offset the snapshot was taken at.
      if (c.ok &&
          (b.first_offset.value < 0 || b.first_offset > b.last_offset || b.last_offset >= at)) {
        return corrupt("batch at offsets " + std::to_string(b.first_offset.value) + ".." +
                       std::to_string(b.last_offset.value) + " in a snapshot taken at " +
                       std::to_string(at.value));
      }
      e.batches.push_back(b);
    }
    if (pid < 0) return corrupt("negative producer id");
    s._entries.emplace(pid, std::move(e));
  }
  if (!c.ok) return corrupt("truncated");
  if (c.pos != c.b.size()) return corrupt("trailing bytes");
  return s;
}

}  // namespace spate::storage
