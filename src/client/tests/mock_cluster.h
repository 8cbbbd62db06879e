// librdkafka's in-process mock cluster (rdkafka_mock.h) for client tests: real Kafka protocol
// on loopback, no broker process. It implements Produce, Fetch, ListOffsets (earliest/latest
// only), Metadata and the group APIs, not the admin APIs.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <string>

#include "client/config.h"

namespace spate::client::testing {

class mock_cluster {
 public:
  explicit mock_cluster(int brokers = 1) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    _rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!_rk) throw std::runtime_error(errstr);
    _mc = rd_kafka_mock_cluster_new(_rk, brokers);
    if (!_mc) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(_mc);
    rd_kafka_destroy(_rk);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  rd_kafka_mock_cluster_t* get() { return _mc; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(_mc); }
  void create_topic(const std::string& name, int partitions) {
    if (rd_kafka_mock_topic_create(_mc, name.c_str(), partitions, 1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("mock topic create failed");
    }
  }
  client_config config() const {
    client_config cfg;
    cfg.bootstrap = bootstrap();
    cfg.timeout = std::chrono::seconds(5);
    return cfg;
  }

 private:
  rd_kafka_t* _rk = nullptr;
  rd_kafka_mock_cluster_t* _mc = nullptr;
};

}  // namespace spate::client::testing
