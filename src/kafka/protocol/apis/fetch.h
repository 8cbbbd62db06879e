// Fetch (key 1). We advertise 4-11 (magic 2 only; librdkafka needs 4 in range for MsgVer2 and
// 10 for zstd). First flexible version: 12.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct fetch_request {
  struct fetch_partition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;  // v9+
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1;  // v5+
    int32_t partition_max_bytes = 0;
    template <class V>
    void describe(V& v) {
      v(partition, "partition");
      v(current_leader_epoch, "current_leader_epoch", since(9));
      v(fetch_offset, "fetch_offset");
      v(log_start_offset, "log_start_offset", since(5));
      v(partition_max_bytes, "partition_max_bytes");
    }
  };
  struct fetch_topic {
    std::string topic;
    std::vector<fetch_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(topic, "topic");
      v(partitions, "partitions");
    }
  };
  struct forgotten_topic {
    std::string topic;
    std::vector<int32_t> partitions;
    template <class V>
    void describe(V& v) {
      v(topic, "topic");
      v(partitions, "partitions");
    }
  };
  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = INT32_MAX;  // v3+
  int8_t isolation_level = 0;     // v4+: 0 read_uncommitted, 1 read_committed
  int32_t session_id = 0;         // v7+
  int32_t session_epoch = -1;     // v7+
  std::vector<fetch_topic> topics;
  std::vector<forgotten_topic> forgotten_topics_data;  // v7+
  std::string rack_id;                                 // v11+
  template <class V>
  void describe(V& v) {
    v(replica_id, "replica_id");
    v(max_wait_ms, "max_wait_ms");
    v(min_bytes, "min_bytes");
    v(max_bytes, "max_bytes", since(3));
    v(isolation_level, "isolation_level", since(4));
    v(session_id, "session_id", since(7));
    v(session_epoch, "session_epoch", since(7));
    v(topics, "topics");
    v(forgotten_topics_data, "forgotten_topics_data", since(7));
    v(rack_id, "rack_id", since(11));
  }
};

struct fetch_response {
  struct aborted_transaction {
    int64_t producer_id = 0;
    int64_t first_offset = 0;
    template <class V>
    void describe(V& v) {
      v(producer_id, "producer_id");
      v(first_offset, "first_offset");
    }
  };
  struct partition_data {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;                                       // v4+
    int64_t log_start_offset = -1;                                         // v5+
    std::optional<std::vector<aborted_transaction>> aborted_transactions;  // v4+
    int32_t preferred_read_replica = -1;                                   // v11+
    kafka::records records;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(error_code, "error_code");
      v(high_watermark, "high_watermark");
      v(last_stable_offset, "last_stable_offset", since(4));
      v(log_start_offset, "log_start_offset", since(5));
      v(aborted_transactions, "aborted_transactions", since(4));
      v(preferred_read_replica, "preferred_read_replica", since(11));
      v(records, "records");
    }
  };
  struct topic_response {
    std::string topic;
    std::vector<partition_data> partitions;
    template <class V>
    void describe(V& v) {
      v(topic, "topic");
      v(partitions, "partitions");
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;        // v7+
  int32_t session_id = 0;        // v7+
  std::vector<topic_response> responses;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code", since(7));
    v(session_id, "session_id", since(7));
    v(responses, "responses");
  }
};

struct fetch_api {
  static constexpr api_key key = api_key::fetch;
  static constexpr const char* name = "Fetch";
  static constexpr int16_t min_version = 4;
  static constexpr int16_t max_version = 11;
  static constexpr int16_t first_flexible = 12;
  using request = fetch_request;
  using response = fetch_response;
};

}  // namespace spate::kafka
