#include "client/detail/handle.h"

#include <algorithm>
#include <optional>

#include "client/errc.h"
#include "observe/log.h"

namespace spate::client::detail {
namespace {

// librdkafka's own log lines (connection failures, broker state) go to the "rdkafka" logger.
// Its LOG_ERR lines are mostly transient (a refused connection that will be retried), so they
// are warnings here; what finally fails reaches the caller as a result.
spdlog::level::level_enum to_spdlog(int syslog_level) {
  if (syslog_level <= 2) return spdlog::level::err;
  if (syslog_level <= 4) return spdlog::level::warn;
  if (syslog_level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

// "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms
// in state CONNECT)" -> "Connect to ipv4#127.0.0.1:1 failed: Connection refused": the broker
// prefix and the state tail say nothing the rest does not.
std::string trim_reason(std::string reason) {
  if (auto pos = reason.rfind(" (after "); pos != std::string::npos) reason.resize(pos);
  auto colon = reason.find(": ");
  if (colon != std::string::npos) {
    auto prefix = std::string_view(reason).substr(0, colon);
    if (prefix.find('/') != std::string_view::npos && prefix.find(' ') == std::string_view::npos) {
      reason.erase(0, colon + 2);
    }
  }
  return reason;
}

bool connection_failure(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__RESOLVE ||
         err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE;
}

std::optional<spate::error> partition_error(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return rdkafka_error(err, "metadata");
}

}  // namespace

spate::error rdkafka_error(rd_kafka_resp_err_t err, const std::string& context, const char* text) {
  std::string detail = context;
  // librdkafka's text often repeats err2str; add it only when it says more.
  if (text && *text && std::string_view(text) != rd_kafka_err2str(err)) {
    detail += detail.empty() ? "" : ": ";
    detail += text;
  }
  return spate::error(std::error_code(static_cast<int>(err), rdkafka_category()),
                      std::move(detail));
}

namespace {

std::optional<std::string> bytes_of(const void* p, size_t n) {
  if (!p) return std::nullopt;
  return std::string(static_cast<const char*>(p), n);
}

}  // namespace

message to_message(const rd_kafka_message_t& m) {
  message out;
  out.topic = rd_kafka_topic_name(m.rkt);
  out.partition = partition_id(m.partition);
  out.offset = spate::offset(m.offset);
  rd_kafka_timestamp_type_t tstype;
  out.timestamp = timestamp_ms(rd_kafka_message_timestamp(&m, &tstype));
  out.ts_type = tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? timestamp_type::create_time
                : tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? timestamp_type::log_append_time
                                                               : timestamp_type::none;
  out.key = bytes_of(m.key, m.key_len);
  out.value = bytes_of(m.payload, m.len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    const char* name;
    const void* val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      out.headers.push_back({name, bytes_of(val, size)});
    }
  }
  return out;
}

handle::handle(const client_config& config, delivery_fn on_delivery)
    : _config(config), _on_delivery(std::move(on_delivery)) {}

handle::~handle() {
  if (_rk) rd_kafka_destroy(_rk);
}

result<std::unique_ptr<handle>> handle::open(rd_kafka_type_t type, const client_config& config,
                                             const setting_list& settings, delivery_fn on_delivery,
                                             rebalance_fn on_rebalance) {
  if (config.timeout.count() < 10 || config.timeout.count() > 300'000) {
    return spate::error(errc::invalid_argument, "timeout must be 10..300000 ms, not " +
                                                    std::to_string(config.timeout.count()));
  }
  std::unique_ptr<handle> h(new handle(config, std::move(on_delivery)));
  h->_on_rebalance = std::move(on_rebalance);
  conf_ptr conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& name, const std::string& value) -> status {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return spate::error(errc::invalid_argument, "setting " + name + "=" + value + ": " + errstr);
    }
    return ok();
  };
  auto timeout = std::to_string(config.timeout.count());
  setting_list common = {
      {"bootstrap.servers", config.bootstrap},
      {"client.id", config.client_id},
      {"socket.timeout.ms", timeout},
      {"api.version.request.timeout.ms",
       std::to_string(std::min<int64_t>(config.timeout.count(), 10'000))},
      // A broker that comes up late is found within a second, not after 10 s of back-off.
      {"reconnect.backoff.max.ms", "1000"},
      // An idle connection closed by the broker is not news.
      {"log.connection.close", "false"},
  };
  for (auto& [k, v] : common) SPATE_TRY(set(k, v));
  for (auto& [k, v] : settings) SPATE_TRY(set(k, v));
  for (auto& [k, v] : config.properties) SPATE_TRY(set(k, v));

  rd_kafka_conf_set_opaque(conf.get(), h.get());
  rd_kafka_conf_set_error_cb(conf.get(), &handle::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &handle::on_log);
  if (h->_on_delivery) rd_kafka_conf_set_dr_msg_cb(conf.get(), &handle::on_delivery_report);
  if (h->_on_rebalance) rd_kafka_conf_set_rebalance_cb(conf.get(), &handle::on_rebalance_cb);

  // rd_kafka_new takes ownership of conf only on success.
  h->_rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!h->_rk)
    return spate::error(errc::invalid_argument, std::string("creating client: ") + errstr);
  conf.release();
  return h;
}

void handle::serve(std::chrono::milliseconds wait) {
  rd_kafka_poll(_rk, static_cast<int>(wait.count()));
}

void handle::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<handle*>(opaque);
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  // "1/1 brokers are down" says less than the connection error that led to it.
  if (code != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->_last_error = trim_reason(reason);
  static const auto log = observe::logger("rdkafka");
  log->debug("error event {}: {}", rd_kafka_err2name(code), reason);
}

void handle::on_log(const rd_kafka_t*, int level, const char* facility, const char* buf) {
  static const auto log = observe::logger("rdkafka");
  log->log(to_spdlog(level), "{}: {}", facility, buf);
}

void handle::on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<handle*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) self->_reached = true;
  if (self->_on_delivery) self->_on_delivery(*msg);
}

void handle::on_rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<handle*>(opaque)->_on_rebalance(rk, err, parts);
}

spate::error handle::failure(rd_kafka_resp_err_t err, const std::string& context,
                             const char* text) {
  serve();  // collect pending error events, for _last_error
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512] = "";
    auto orig = rd_kafka_fatal_error(_rk, buf, sizeof buf);
    return spate::error(errc::fatal, context + ": " + rd_kafka_err2name(orig) + ": " + buf);
  }
  if (!_reached && connection_failure(err)) {
    std::string detail = "cannot reach broker at " + _config.bootstrap + " within " +
                         std::to_string(_config.timeout.count()) + " ms";
    if (!_last_error.empty()) detail += " (" + _last_error + ")";
    return spate::error(errc::broker_unreachable, std::move(detail));
  }
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    std::string detail =
        context + ": no answer within " + std::to_string(_config.timeout.count()) + " ms";
    if (text && *text && std::string_view(text) != rd_kafka_err2str(err)) {
      detail += " (" + std::string(text) + ")";
    }
    return spate::error(errc::timed_out, std::move(detail));
  }
  if (err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
    return spate::error(errc::unsupported_by_broker,
                        context + (text && *text ? std::string(": ") + text : std::string()));
  }
  return rdkafka_error(err, context, text);
}

status handle::probe() {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(_rk, 0, nullptr, &md, timeout_ms());
  metadata_ptr owner(md);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return failure(err, "metadata");
  _reached = true;
  return ok();
}

result<cluster_info> handle::metadata(metadata_scope scope) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(_rk, scope == metadata_scope::all_topics ? 1 : 0, nullptr, &md,
                               timeout_ms());
  metadata_ptr owner(md);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return failure(err, "metadata");
  _reached = true;

  cluster_info info;
  info.answered_by = md->orig_broker_id;
  for (int i = 0; i < md->broker_cnt; ++i) {
    auto& b = md->brokers[i];
    info.brokers.push_back({b.id, b.host ? b.host : "", b.port});
  }
  std::sort(info.brokers.begin(), info.brokers.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (int i = 0; i < md->topic_cnt; ++i) {
    auto& t = md->topics[i];
    topic_info ti;
    ti.name = t.topic ? t.topic : "";
    ti.error = partition_error(t.err);
    for (int j = 0; j < t.partition_cnt; ++j) {
      auto& p = t.partitions[j];
      partition_info pi;
      pi.id = partition_id(p.id);
      pi.leader = p.leader;
      pi.replicas.assign(p.replicas, p.replicas + p.replica_cnt);
      pi.isr.assign(p.isrs, p.isrs + p.isr_cnt);
      pi.error = partition_error(p.err);
      ti.partitions.push_back(std::move(pi));
    }
    std::sort(ti.partitions.begin(), ti.partitions.end(),
              [](auto& a, auto& b) { return a.id < b.id; });
    info.topics.push_back(std::move(ti));
  }
  std::sort(info.topics.begin(), info.topics.end(),
            [](auto& a, auto& b) { return a.name < b.name; });
  // Both come from the Metadata response just received; 0 ms: do not ask again.
  if (char* id = rd_kafka_clusterid(_rk, 0)) {
    info.cluster_id = id;
    rd_kafka_mem_free(_rk, id);
  }
  info.controller_id = rd_kafka_controllerid(_rk, 0);
  return info;
}

}  // namespace spate::client::detail

namespace spate::client {

const topic_info* cluster_info::find(const std::string& name) const {
  for (auto& t : topics) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

result<cluster_info> describe_cluster(const client_config& config, metadata_scope scope) {
  auto h = detail::handle::open(RD_KAFKA_PRODUCER, config, {});
  if (!h) return std::move(h).error();
  return (*h)->metadata(scope);
}

}  // namespace spate::client
