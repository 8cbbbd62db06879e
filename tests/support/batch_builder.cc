#include "support/batch_builder.h"

#include "base/crc32c.h"
#include "base/varint.h"

namespace spate::test {

batch_builder& batch_builder::add(std::optional<std::string> key, std::optional<std::string> value,
                                  int64_t timestamp) {
  return add(
      test_record{std::move(key), std::move(value), {}, timestamp < 0 ? _base_ts : timestamp});
}

batch_builder& batch_builder::add(test_record r) {
  _records.push_back(std::move(r));
  return *this;
}

namespace {
void append_nullable(byte_buffer& out, const std::optional<std::string>& s) {
  if (!s) {
    varint::append_signed(out, -1);
    return;
  }
  varint::append_signed(out, static_cast<int64_t>(s->size()));
  append_bytes(out, as_bytes(*s));
}
}  // namespace

byte_buffer batch_builder::build() const {
  int64_t base_ts = _records.empty() ? _base_ts : _records.front().timestamp;
  int64_t max_ts = base_ts;
  for (auto& r : _records) {
    base_ts = std::min(base_ts, r.timestamp);
    max_ts = std::max(max_ts, r.timestamp);
  }
  byte_buffer body;
  for (size_t i = 0; i < _records.size(); ++i) {
    const auto& r = _records[i];
    byte_buffer rec;
    rec.push_back(0);  // attributes
    varint::append_signed(rec, r.timestamp - base_ts);
    varint::append_signed(rec, static_cast<int64_t>(i));
    append_nullable(rec, r.key);
    append_nullable(rec, r.value);
    varint::append_signed(rec, static_cast<int64_t>(r.headers.size()));
    for (auto& [hk, hv] : r.headers) {
      append_nullable(rec, hk);
      append_nullable(rec, hv);
    }
    varint::append_signed(body, static_cast<int64_t>(rec.size()));
    append_bytes(body, rec);
  }
  if (_codec != 0) body = compress(_codec, body, _snappy_framing);
  byte_buffer out;
  append_be<int64_t>(out, 0);                                       // base offset
  append_be<int32_t>(out, static_cast<int32_t>(49 + body.size()));  // batch length
  append_be<int32_t>(out, 0);                                       // leader epoch
  out.push_back(2);                                                 // magic
  append_be<uint32_t>(out, 0);                                      // crc (below)
  append_be<uint16_t>(out, static_cast<uint16_t>(_codec));
  append_be<int32_t>(out, static_cast<int32_t>(_records.size()) - 1);
  append_be<int64_t>(out, base_ts);
  append_be<int64_t>(out, max_ts);
  append_be<int64_t>(out, _producer_id);
  append_be<int16_t>(out, _producer_epoch);
  append_be<int32_t>(out, _base_sequence);
  append_be<int32_t>(out, static_cast<int32_t>(_records.size()));
  append_bytes(out, body);
  reseal(out);
  return out;
}

byte_buffer make_batch(int count, size_t value_size, int64_t timestamp,
                       const std::string& key_prefix) {
  batch_builder b;
  b.base_timestamp(timestamp);
  std::string value(value_size, 'v');
  for (int i = 0; i < count; ++i) {
    for (size_t j = 0; j < value.size() && j < 16; ++j)
      value[j] = static_cast<char>('a' + (i + j) % 26);
    b.add(key_prefix + std::to_string(i), value, timestamp);
  }
  return b.build();
}

void reseal(byte_buffer& batch) {
  store_be<uint32_t>(batch.data() + 17, crc32c::value(bytes_view(batch).subspan(21)));
}

}  // namespace spate::test
