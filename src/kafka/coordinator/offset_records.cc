#include "kafka/coordinator/offset_records.h"

#include "base/be_cursor.h"
#include "storage/batch_writer.h"
#include "storage/record_batch.h"

namespace spate::coordinator {
namespace {

// Key versions name the kind of record, as in Kafka: 0 and 1 an offset, 2 a group's metadata.
constexpr int16_t kind_offset = 1;
constexpr int16_t kind_group = 2;
constexpr int16_t value_version = 1;
constexpr int16_t group_value_version = 3;

void put_string(byte_buffer& out, const std::string& s) {
  append_be<int16_t>(out, static_cast<int16_t>(s.size()));
  append_bytes(out, as_bytes(s));
}

void put_nullable_string(byte_buffer& out, const std::optional<std::string>& s) {
  if (s) return put_string(out, *s);
  append_be<int16_t>(out, -1);
}

void put_bytes(byte_buffer& out, const byte_buffer& b) {
  append_be<int32_t>(out, static_cast<int32_t>(b.size()));
  append_bytes(out, b);
}

// An int32 length, then that many bytes (never null here).
byte_buffer read_bytes(be_cursor& c) {
  auto n = c.num<int32_t>();
  if (n < 0) c.ok = false;
  if (!c.ok) return {};
  auto bytes = c.take(static_cast<size_t>(n));
  return byte_buffer(bytes.begin(), bytes.end());
}

byte_buffer group_key(const std::string& group) {
  byte_buffer key;
  append_be<int16_t>(key, kind_group);
  put_string(key, group);
  return key;
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

byte_buffer encode_group(const group_snapshot& g, timestamp_ms now) {
  byte_buffer v;
  append_be<int16_t>(v, group_value_version);
  put_string(v, g.protocol_type);
  append_be<int32_t>(v, g.generation_id);
  put_nullable_string(v, g.protocol);
  put_nullable_string(v, g.leader);
  append_be<int64_t>(v, now.value);  // current_state_timestamp
  append_be<int32_t>(v, static_cast<int32_t>(g.members.size()));
  for (auto& m : g.members) {
    put_string(v, m.member_id);
    put_nullable_string(v, m.group_instance_id);
    put_string(v, m.client_id);
    put_string(v, m.client_host);
    append_be<int32_t>(v, m.rebalance_timeout_ms);
    append_be<int32_t>(v, m.session_timeout_ms);
    put_bytes(v, m.subscription);
    put_bytes(v, m.assignment);
  }
  storage::batch_writer w(now);
  w.add(group_key(g.group_id), v);
  return w.finish();
}

byte_buffer encode_group_tombstone(const std::string& group, timestamp_ms now) {
  storage::batch_writer w(now);
  w.add(group_key(group), std::nullopt);
  return w.finish();
}

std::optional<group_record> decode_group_record(bytes_view key, std::optional<bytes_view> value) {
  be_cursor k{key};
  if (k.num<int16_t>() != kind_group) return std::nullopt;
  auto group = read_string(k);
  if (!k.ok || !group || k.pos != key.size()) return std::nullopt;
  group_record r;
  r.group = *group;
  if (!value) return r;
  be_cursor v{*value};
  if (v.num<int16_t>() != group_value_version) return std::nullopt;
  group_snapshot g;
  g.group_id = *group;
  auto protocol_type = read_string(v);
  g.generation_id = v.num<int32_t>();
  g.protocol = read_string(v);
  g.leader = read_string(v);
  r.state_timestamp_ms = v.num<int64_t>();
  auto count = v.num<int32_t>();
  // Each member takes at least 24 bytes: a count beyond what is left is corrupt, not a reason
  // to reserve gigabytes.
  if (!v.ok || !protocol_type || count < 0 ||
      static_cast<size_t>(count) > (value->size() - v.pos) / 24) {
    return std::nullopt;
  }
  g.protocol_type = *protocol_type;
  for (int32_t i = 0; i < count && v.ok; ++i) {
    group_snapshot::member m;
    auto id = read_string(v);
    m.group_instance_id = read_string(v);
    auto client_id = read_string(v);
    auto client_host = read_string(v);
    m.rebalance_timeout_ms = v.num<int32_t>();
    m.session_timeout_ms = v.num<int32_t>();
    m.subscription = read_bytes(v);
    m.assignment = read_bytes(v);
    if (!id || !client_id || !client_host) return std::nullopt;
    m.member_id = *id;
    m.client_id = *client_id;
    m.client_host = *client_host;
    g.members.push_back(std::move(m));
  }
  if (!v.ok || v.pos != value->size()) return std::nullopt;
  r.value = std::move(g);
  return r;
}

result<loaded_records> load_offsets(storage::partition_log& log, group_coordinator& gc,
                                    mono_clock::time_point now) {
  loaded_records applied;
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
          if (auto gr = decode_group_record(*rec.key, rec.value)) {
            if (gr->value) {
              gc.restore(*gr->value, now);
            } else {
              gc.forget(gr->group);
            }
            ++applied.groups;
            return true;
          }
          auto o = decode_offset_record(*rec.key, rec.value);
          if (!o) return true;  // another kind of record, or a newer version: not ours
          if (o->value) {
            gc.apply_commit(o->group, {{o->partition, *o->value}});
          } else {
            gc.erase_offsets(o->group, {o->partition});
          }
          ++applied.offsets;
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
