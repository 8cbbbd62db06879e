#include "kafka/coordinator/offset_records.h"

#include "base/be_cursor.h"
#include "storage/batch_writer.h"
#include "storage/record_batch.h"

namespace spate::coordinator {
namespace {

constexpr int16_t kind_offset = 1;
constexpr int16_t value_version = 1;

void put_string(byte_buffer& out, const std::string& s) {
  append_be<int16_t>(out, static_cast<int16_t>(s.size()));
  append_bytes(out, as_bytes(s));
}

// An int16 length (-1: null), then that many bytes.
std::optional<std::string> read_string(be_cursor& c) {
  auto n = c.num<int16_t>();
  if (n < -1) c.ok = false;
  if (!c.ok || n == -1) return std::nullopt;
  auto bytes = c.take(static_cast<size_t>(n));
  if (!c.ok) return std::nullopt;
  return std::string(as_string_view(bytes));
}

}  // namespace

byte_buffer encode_commit(
    const std::string& group,
    const std::vector<std::pair<topic_partition_key, std::optional<committed_offset>>>& offsets,
    timestamp_ms now) {
  storage::batch_writer w(now);
  for (auto& [tp, o] : offsets) {
    byte_buffer key;
    append_be<int16_t>(key, kind_offset);
    put_string(key, group);
    put_string(key, tp.first);
    append_be<int32_t>(key, tp.second);
    if (!o) {
      w.add(key, std::nullopt);
      continue;
    }
    byte_buffer value;
    append_be<int16_t>(value, value_version);
    append_be<int64_t>(value, o->offset);
    append_be<int32_t>(value, o->leader_epoch);
    if (o->metadata) {
      put_string(value, *o->metadata);
    } else {
      append_be<int16_t>(value, -1);
    }
    append_be<int64_t>(value, o->commit_timestamp_ms);
    w.add(key, value);
  }
  return w.finish();
}

std::optional<offset_record> decode_offset_record(bytes_view key, std::optional<bytes_view> value) {
  be_cursor k{key};
  if (k.num<int16_t>() != kind_offset) return std::nullopt;
  offset_record r;
  auto group = read_string(k);
  auto topic = read_string(k);
  int32_t partition = k.num<int32_t>();
  if (!k.ok || !group || !topic || k.pos != key.size()) return std::nullopt;
  r.group = *group;
  r.partition = {*topic, partition};
  if (!value) return r;
  be_cursor v{*value};
  if (v.num<int16_t>() != value_version) return std::nullopt;
  committed_offset o;
  o.offset = v.num<int64_t>();
  o.leader_epoch = v.num<int32_t>();
  o.metadata = read_string(v);
  o.commit_timestamp_ms = v.num<int64_t>();
  if (!v.ok || v.pos != value->size()) return std::nullopt;
  r.value = o;
  return r;
}

result<size_t> load_offsets(storage::partition_log& log, group_coordinator& gc) {
  size_t applied = 0;
  offset next = log.log_start();
  while (next < log.log_end()) {
    auto r = log.read(next, 1 << 20);
    if (!r) return r.error();
    if (r->slice.size == 0) break;
    byte_buffer buf(r->slice.size);
    auto n = r->slice.file->read_at(r->slice.position, buf);
    if (!n) return n.error();
    bytes_view rest(buf.data(), *n);
    while (rest.size() >= storage::batch_layout::header_size) {
      auto h = storage::batch_header::parse(rest);
      if (h.total_size() > rest.size()) break;
      auto batch = rest.first(h.total_size());
      if (h.codec() == storage::compression::none) {
        SPATE_TRY(storage::for_each_record(batch, [&](const storage::record_view& rec) {
          if (!rec.key) return true;
          auto o = decode_offset_record(*rec.key, rec.value);
          if (!o) return true;  // another kind of record, or a newer version: not ours
          if (o->value) {
            gc.apply_commit(o->group, {{o->partition, *o->value}});
          } else {
            (void)gc.delete_offsets(o->group, {o->partition});
          }
          ++applied;
          return true;
        }));
      }
      next = h.next_offset();
      rest = rest.subspan(h.total_size());
    }
  }
  return applied;
}

}  // namespace spate::coordinator
