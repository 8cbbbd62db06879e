#include "storage/batch_writer.h"

#include "base/crc32c.h"
#include "base/varint.h"
#include "storage/record_batch.h"

namespace spate::storage {

void put_nullable(byte_buffer& out, std::optional<bytes_view> b) {
  if (!b) {
    varint::append_signed(out, -1);
    return;
  }
  varint::append_signed(out, static_cast<int64_t>(b->size()));
  append_bytes(out, *b);
}

void batch_writer::add(std::optional<bytes_view> key, std::optional<bytes_view> value) {
  byte_buffer rec;
  rec.push_back(0);               // attributes
  varint::append_signed(rec, 0);  // timestamp delta: every record shares the batch time
  varint::append_signed(rec, _count);
  put_nullable(rec, key);
  put_nullable(rec, value);
  varint::append_signed(rec, 0);  // no headers
  varint::append_signed(_records, static_cast<int64_t>(rec.size()));
  append_bytes(_records, rec);
  ++_count;
}

byte_buffer batch_writer::finish() const {
  namespace bl = batch_layout;
  byte_buffer out(bl::header_size);
  uint8_t* h = out.data();
  store_be<int64_t>(h + bl::base_offset, 0);
  store_be<int32_t>(h + bl::batch_length,
                    static_cast<int32_t>(bl::header_size - bl::length_field_end + _records.size()));
  store_be<int32_t>(h + bl::partition_leader_epoch, 0);
  h[bl::magic] = 2;
  store_be<uint16_t>(h + bl::attributes, 0);
  store_be<int32_t>(h + bl::last_offset_delta, _count - 1);
  store_be<int64_t>(h + bl::base_timestamp, _timestamp.value);
  store_be<int64_t>(h + bl::max_timestamp, _timestamp.value);
  store_be<int64_t>(h + bl::producer_id, -1);
  store_be<int16_t>(h + bl::producer_epoch, -1);
  store_be<int32_t>(h + bl::base_sequence, -1);
  store_be<int32_t>(h + bl::records_count, _count);
  append_bytes(out, _records);
  store_be<uint32_t>(out.data() + bl::crc, crc32c::value(bytes_view(out).subspan(bl::attributes)));
  return out;
}

}  // namespace spate::storage
