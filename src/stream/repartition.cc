#include "spate/stream/repartition.h"

#include "spate/stream/detail/operators.h"
#include "spate/stream/errc.h"

namespace spate::stream {

int32_t murmur2(std::string_view data) {
  // MurmurHash2, 32-bit, as Kafka defines it: seed 0x9747b28c, four bytes at a time read
  // little-endian, the 1-3 tail bytes mixed in last. Unsigned arithmetic wraps like Java's int.
  constexpr uint32_t seed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  uint32_t h = seed ^ static_cast<uint32_t>(n);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t k = uint32_t(p[i]) | uint32_t(p[i + 1]) << 8 | uint32_t(p[i + 2]) << 16 |
                 uint32_t(p[i + 3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (n - i) {
    case 3:
      h ^= uint32_t(p[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t(p[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t(p[i]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t kafka_partition(std::string_view key, int32_t partitions) {
  // Java's Utils.toPositive: the sign bit cleared, not the absolute value.
  return static_cast<int32_t>((static_cast<uint32_t>(murmur2(key)) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

std::string repartition_topic(std::string_view application_id, std::string_view step) {
  std::string out(application_id);
  out += '-';
  out += step;
  out += "-repartition";
  return out;
}

namespace {

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out += static_cast<char>((v >> shift) & 0xff);
  }
}

uint64_t get_be(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

error bad(std::string_view header, std::string what) {
  return error(errc::deserialization_failed, std::string(header) + " header: " + what);
}

status check_size_and_version(std::string_view header, std::string_view bytes, size_t size) {
  if (bytes.size() != size) {
    return bad(header, std::to_string(bytes.size()) + " bytes, expected " + std::to_string(size));
  }
  if (static_cast<uint8_t>(bytes[0]) != repartition_format_version) {
    return bad(header, "unknown version " + std::to_string(static_cast<uint8_t>(bytes[0])));
  }
  return ok();
}

}  // namespace

std::string encode_sequence_header(const sequence_stamp& s) {
  std::string out;
  out += static_cast<char>(repartition_format_version);
  put_be(out, static_cast<uint32_t>(s.task), 4);
  put_be(out, static_cast<uint64_t>(s.sequence), 8);
  return out;
}

result<sequence_stamp> decode_sequence_header(std::string_view bytes) {
  SPATE_TRY(check_size_and_version(sequence_header, bytes, 13));
  sequence_stamp s;
  s.task = static_cast<int32_t>(get_be(bytes, 1, 4));
  s.sequence = static_cast<int64_t>(get_be(bytes, 5, 8));
  if (s.task < 0) return bad(sequence_header, "negative task " + std::to_string(s.task));
  if (s.sequence <= 0) return bad(sequence_header, "sequence " + std::to_string(s.sequence));
  return s;
}

std::string encode_watermark_header(const watermark_stamp& w) {
  std::string out;
  out += static_cast<char>(repartition_format_version);
  put_be(out, static_cast<uint32_t>(w.task), 4);
  put_be(out, static_cast<uint64_t>(w.watermark.value), 8);
  out += static_cast<char>(w.idle ? 1 : 0);
  return out;
}

result<watermark_stamp> decode_watermark_header(std::string_view bytes) {
  SPATE_TRY(check_size_and_version(watermark_header, bytes, 14));
  watermark_stamp w;
  w.task = static_cast<int32_t>(get_be(bytes, 1, 4));
  w.watermark = timestamp_ms(static_cast<int64_t>(get_be(bytes, 5, 8)));
  auto flags = static_cast<uint8_t>(bytes[13]);
  if (w.task < 0) return bad(watermark_header, "negative task " + std::to_string(w.task));
  if ((flags & ~1u) != 0) return bad(watermark_header, "unknown flags " + std::to_string(flags));
  w.idle = (flags & 1u) != 0;
  return w;
}

namespace detail {

namespace {

// The step's state namespace and keys: "out" holds the last sequence number written,
// "in" + be32(task) the highest applied from that upstream task, each as be64.
std::string be64(int64_t v) {
  std::string out;
  put_be(out, static_cast<uint64_t>(v), 8);
  return out;
}

std::string applied_key(int32_t task) {
  std::string k = "in";
  put_be(k, static_cast<uint32_t>(task), 4);
  return k;
}

const client::header* find_header(const client::header_list& hs, std::string_view key) {
  for (auto& h : hs) {
    if (h.key == key) return &h;
  }
  return nullptr;
}

}  // namespace

void repartition_core::enable_split(std::string topic, int32_t task, int32_t tasks,
                                    bool deduplicate) {
  _split = true;
  _deduplicate = deduplicate;
  _topic = std::move(topic);
  _task = task;
  _tasks = tasks;
  _upstreams.assign(static_cast<size_t>(tasks), upstream_task{});
}

bool repartition_core::idle(timestamp_ms) {
  for (auto& u : _upstreams) {
    if (!u.idle) return false;
  }
  return true;
}

output_record repartition_core::make_record(std::string key, std::string value, timestamp_ms t) {
  ++_sequence;
  _sequence_dirty = true;
  auto p = partition_id(kafka_partition(key, _tasks));
  output_record r{_topic, std::move(key), std::move(value), t, {}, p};
  r.headers.push_back(
      client::header{std::string(sequence_header), encode_sequence_header({_task, _sequence})});
  return r;
}

result<bool> repartition_core::accept(const input_record& r, engine_stats& stats) {
  auto where = [&] {
    return r.topic + "[" + std::to_string(r.partition.value) + "]@" +
           std::to_string(r.offset.value);
  };
  auto check_task = [&](int32_t task) -> status {
    if (task >= _tasks) {
      return error(errc::deserialization_failed, where() + ": upstream task " +
                                                     std::to_string(task) + ", but the topic has " +
                                                     std::to_string(_tasks) + " partitions");
    }
    return ok();
  };
  if (auto* h = find_header(r.headers, watermark_header)) {
    auto w = decode_watermark_header(h->value.value_or(""));
    if (!w) return std::move(w).error().with_context(where());
    SPATE_TRY(check_task(w->task));
    auto& u = _upstreams[static_cast<size_t>(w->task)];
    // A restarted upstream task sends older watermarks again: per task it never goes back.
    u.watermark = std::max(u.watermark, w->watermark);
    u.idle = w->idle;
    return false;
  }
  auto* h = find_header(r.headers, sequence_header);
  if (h == nullptr) {
    return error(errc::deserialization_failed,
                 where() + ": a repartition record without a spate.seq or spate.wm header");
  }
  auto s = decode_sequence_header(h->value.value_or(""));
  if (!s) return std::move(s).error().with_context(where());
  SPATE_TRY(check_task(s->task));
  auto& u = _upstreams[static_cast<size_t>(s->task)];
  if (_deduplicate && s->sequence <= u.applied) {
    ++stats.repartition_duplicates;
    return false;
  }
  u.applied = s->sequence;
  u.dirty = true;
  // Data means the upstream task is active again, as a record wakes an idle partition.
  u.idle = false;
  return true;
}

timestamp_ms repartition_core::downstream_watermark(timestamp_ms upstream) {
  _upstream_watermark = upstream;
  std::optional<timestamp_ms> low;
  for (auto& u : _upstreams) {
    if (u.idle) continue;
    low = low ? std::min(*low, u.watermark) : u.watermark;
  }
  if (low && *low > _combined) _combined = *low;
  return _combined;
}

void repartition_core::load(state_store& store, const std::string& step) {
  _ns = store.open(step + "/repartition");
  auto read = [&](const std::string& key) -> int64_t {
    auto v = store.get(_ns, key);
    if (!v || v->size() != 8) return 0;
    return static_cast<int64_t>(get_be(*v, 0, 8));
  };
  _sequence = read("out");
  for (int32_t t = 0; t < _tasks; ++t)
    _upstreams[static_cast<size_t>(t)].applied = read(applied_key(t));
}

void repartition_core::save(state_store& store) {
  if (_sequence_dirty) store.put(_ns, "out", be64(_sequence));
  _sequence_dirty = false;
  for (int32_t t = 0; t < _tasks; ++t) {
    auto& u = _upstreams[static_cast<size_t>(t)];
    if (u.dirty) store.put(_ns, applied_key(t), be64(u.applied));
    u.dirty = false;
  }
}

std::optional<error> record_key_core::misplaced(const std::optional<std::string>& key,
                                                const record_origin& o,
                                                const std::string& step) const {
  auto where = [&] {
    return std::string(o.topic) + "[" + std::to_string(o.partition.value) + "]@" +
           std::to_string(o.offset.value);
  };
  if (!key) {
    return error(errc::misplaced_key,
                 "key_by_record_key step '" + step + "': the record at " + where() + " has no key");
  }
  if (_tasks == 0) return std::nullopt;
  int32_t p = kafka_partition(*key, _tasks);
  if (p == _task) return std::nullopt;
  return error(errc::misplaced_key,
               "key_by_record_key step '" + step + "': the record at " + where() + " is in task " +
                   std::to_string(_task) +
                   " but Kafka's default partitioner "
                   "puts its key in partition " +
                   std::to_string(p) + " of " + std::to_string(_tasks) +
                   ": the input is not partitioned by its record key with murmur2; use key_by, "
                   "which repartitions");
}

}  // namespace detail

}  // namespace spate::stream
