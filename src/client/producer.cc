#include "client/producer.h"

#include <cstdint>

#include "client/detail/handle.h"
#include "client/errc.h"

namespace spate::client {

using namespace detail;

struct producer::state {
  std::unique_ptr<handle> h;
  std::vector<delivery> reports;  // filled by the delivery callback, drained by poll()
  uint64_t next_id = 1;
};

namespace {

const char* acks_value(acks_mode a) {
  switch (a) {
    case acks_mode::none:
      return "0";
    case acks_mode::leader:
      return "1";
    case acks_mode::all:
      break;
  }
  return "all";
}

const char* codec_name(compression_codec c) {
  switch (c) {
    case compression_codec::gzip:
      return "gzip";
    case compression_codec::snappy:
      return "snappy";
    case compression_codec::lz4:
      return "lz4";
    case compression_codec::zstd:
      return "zstd";
    case compression_codec::none:
      break;
  }
  return "none";
}

delivery to_delivery(const rd_kafka_message_t& m) {
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m._private));
  std::string topic = m.rkt ? rd_kafka_topic_name(m.rkt) : "";
  if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string context = "delivering record " + std::to_string(id) + " to '" + topic + "'";
    if (m.partition >= 0) context += " partition " + std::to_string(m.partition);
    return {id, rdkafka_error(m.err, context)};
  }
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(&m, &tstype);
  // With acks=0 librdkafka reports no offset (a negative sentinel); -1 says "unknown".
  return {id, record_position{std::move(topic), partition_id(m.partition),
                              spate::offset(m.offset >= 0 ? m.offset : -1), timestamp_ms(ts)}};
}

rd_kafka_vu_t vu_of(rd_kafka_vtype_t type) {
  rd_kafka_vu_t v{};
  v.vtype = type;
  return v;
}

}  // namespace

result<acks_mode> parse_acks(std::string_view s) {
  if (s == "0") return acks_mode::none;
  if (s == "1") return acks_mode::leader;
  if (s == "all" || s == "-1") return acks_mode::all;
  return spate::error(errc::invalid_argument,
                      "acks must be 0, 1 or all, not '" + std::string(s) + "'");
}

result<compression_codec> parse_compression(std::string_view s) {
  if (s == "none") return compression_codec::none;
  if (s == "gzip") return compression_codec::gzip;
  if (s == "snappy") return compression_codec::snappy;
  if (s == "lz4") return compression_codec::lz4;
  if (s == "zstd") return compression_codec::zstd;
  return spate::error(errc::invalid_argument,
                      "compression must be none, gzip, snappy, lz4 or "
                      "zstd, not '" +
                          std::string(s) + "'");
}

producer::producer(std::unique_ptr<state> s) : _s(std::move(s)) {}
producer::producer(producer&&) noexcept = default;
producer& producer::operator=(producer&&) noexcept = default;
producer::~producer() = default;

result<producer> producer::connect(const client_config& config, const producer_config& settings) {
  auto delivery_timeout =
      settings.delivery_timeout.count() > 0 ? settings.delivery_timeout : config.timeout;
  setting_list list = {
      {"acks", acks_value(settings.acks)},
      {"compression.codec", codec_name(settings.compression)},
      {"linger.ms", std::to_string(settings.linger.count())},
      {"message.timeout.ms", std::to_string(delivery_timeout.count())},
      {"enable.idempotence", settings.idempotent ? "true" : "false"},
  };
  auto s = std::make_unique<state>();
  auto* raw = s.get();
  auto h = handle::open(RD_KAFKA_PRODUCER, config, list, [raw](const rd_kafka_message_t& m) {
    raw->reports.push_back(to_delivery(m));
  });
  if (!h) return std::move(h).error();
  s->h = std::move(*h);
  SPATE_TRY(s->h->probe());
  return producer(std::move(s));
}

result<uint64_t> producer::produce(const outgoing_record& r) {
  uint64_t id = _s->next_id;
  std::vector<rd_kafka_vu_t> vus;
  auto v = vu_of(RD_KAFKA_VTYPE_TOPIC);
  v.u.cstr = r.topic.c_str();
  vus.push_back(v);
  v = vu_of(RD_KAFKA_VTYPE_MSGFLAGS);
  v.u.i = RD_KAFKA_MSG_F_COPY;
  vus.push_back(v);
  v = vu_of(RD_KAFKA_VTYPE_OPAQUE);
  v.u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  vus.push_back(v);
  if (r.key) {
    v = vu_of(RD_KAFKA_VTYPE_KEY);
    v.u.mem.ptr = const_cast<char*>(r.key->data());
    v.u.mem.size = r.key->size();
    vus.push_back(v);
  }
  if (r.value) {
    v = vu_of(RD_KAFKA_VTYPE_VALUE);
    v.u.mem.ptr = const_cast<char*>(r.value->data());
    v.u.mem.size = r.value->size();
    vus.push_back(v);
  }
  if (r.partition) {
    v = vu_of(RD_KAFKA_VTYPE_PARTITION);
    v.u.i32 = r.partition->value;
    vus.push_back(v);
  }
  if (r.timestamp) {
    v = vu_of(RD_KAFKA_VTYPE_TIMESTAMP);
    v.u.i64 = r.timestamp->value;
    vus.push_back(v);
  }
  for (auto& hdr : r.headers) {
    v = vu_of(RD_KAFKA_VTYPE_HEADER);
    v.u.header.name = hdr.key.c_str();
    v.u.header.val = hdr.value ? hdr.value->data() : nullptr;
    v.u.header.size = hdr.value ? static_cast<ssize_t>(hdr.value->size()) : 0;
    vus.push_back(v);
  }

  auto deadline = std::chrono::steady_clock::now() + _s->h->config().timeout;
  while (true) {
    error_ptr e(rd_kafka_produceva(_s->h->rk(), vus.data(), vus.size()));
    if (!e) break;
    auto code = rd_kafka_error_code(e.get());
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL && std::chrono::steady_clock::now() < deadline) {
      _s->h->serve(std::chrono::milliseconds(100));  // let deliveries drain the queue
      continue;
    }
    std::string context = "producing to '" + r.topic + "'";
    if (rd_kafka_error_is_fatal(e.get())) return _s->h->failure(RD_KAFKA_RESP_ERR__FATAL, context);
    return rdkafka_error(code, context, rd_kafka_error_string(e.get()));
  }
  ++_s->next_id;
  _s->h->serve();
  return id;
}

std::vector<delivery> producer::poll(std::chrono::milliseconds wait) {
  _s->h->serve(wait);
  return std::exchange(_s->reports, {});
}

status producer::flush(std::chrono::milliseconds timeout) {
  auto err = rd_kafka_flush(_s->h->rk(), static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return ok();
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return spate::error(errc::timed_out, "flush: " + std::to_string(in_flight()) +
                                             " record(s) still in flight after " +
                                             std::to_string(timeout.count()) + " ms");
  }
  return _s->h->failure(err, "flush");
}

size_t producer::in_flight() const {
  return static_cast<size_t>(rd_kafka_outq_len(_s->h->rk()));
}

result<cluster_info> producer::describe_cluster(metadata_scope scope) {
  return _s->h->metadata(scope);
}

}  // namespace spate::client
