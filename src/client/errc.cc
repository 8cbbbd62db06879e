#include "client/errc.h"

#include <librdkafka/rdkafka.h>

#include <string>

namespace spate::client {
namespace {

// Kafka's RetriableException family, plus librdkafka's local errors that mean "not now".
bool retriable_code(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__WAIT_CACHE:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:  // CORRUPT_MESSAGE: resending may succeed
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
    case RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
      return true;
    default:
      return false;
  }
}

bool retriable_client_code(errc e) {
  return e == errc::broker_unreachable || e == errc::timed_out;
}

class client_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "client"; }
  std::string message(int v) const override {
    std::string m;
    switch (static_cast<errc>(v)) {
      case errc::invalid_argument:
        m = "invalid argument";
        break;
      case errc::broker_unreachable:
        m = "broker unreachable";
        break;
      case errc::timed_out:
        m = "timed out";
        break;
      case errc::unknown_topic:
        m = "unknown topic";
        break;
      case errc::topic_exists:
        m = "topic already exists";
        break;
      case errc::unsupported_by_broker:
        m = "not supported by the broker";
        break;
      case errc::unknown_group:
        m = "unknown consumer group";
        break;
      case errc::group_not_empty:
        m = "consumer group has active members";
        break;
      case errc::fatal:
        return "fatal client error [fatal: recreate the client]";
      default:
        return "unknown client error " + std::to_string(v);
    }
    return m + (retriable_client_code(static_cast<errc>(v)) ? " [retriable]" : " [not retriable]");
  }
};

class rdkafka_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rdkafka"; }
  std::string message(int v) const override {
    auto e = static_cast<rd_kafka_resp_err_t>(v);
    return std::string(rd_kafka_err2str(e)) + " [" + rd_kafka_err2name(e) +
           (retriable_code(e) ? ", retriable]" : ", not retriable]");
  }
};

}  // namespace

const std::error_category& client_category() {
  static const client_category_impl c;
  return c;
}

const std::error_category& rdkafka_category() {
  static const rdkafka_category_impl c;
  return c;
}

bool is_retriable(const error& e) {
  if (e.code.category() == rdkafka_category()) {
    return retriable_code(static_cast<rd_kafka_resp_err_t>(e.code.value()));
  }
  if (e.code.category() == client_category()) {
    return retriable_client_code(static_cast<errc>(e.code.value()));
  }
  return false;
}

bool is_fatal(const error& e) {
  return e.code == make_error_code(errc::fatal);
}

}  // namespace spate::client
