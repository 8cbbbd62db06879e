// OffsetCommit (key 8). We advertise 2-7 (profile R, kafka-compat.md §5.2): librdkafka sends
// 7, kafkajs 5, kafka-python 2. librdkafka's balanced-consumer flag needs a version in [1, 2]
// in range (§3.1). An empty request gets an empty answer at once (§10.6). First flexible
// version: 8.
//
// By version: v1 adds generation_id, member_id and a per-partition commit_timestamp; v2
// replaces commit_timestamp with a request-wide retention_time_ms; v3 adds throttle_time_ms
// to the response; v4 only changes throttling; v5 drops retention_time_ms (retention is the
// broker's setting alone); v6 adds committed_leader_epoch; v7 adds group_instance_id
// (KIP-345); v8 is v7 made flexible. v0-v1 are described though not advertised; v9 (topic
// ids) is not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct offset_commit_request {
  struct offset_commit_request_partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v6+
    int64_t commit_timestamp = -1;        // v1 only
    std::optional<std::string> committed_metadata;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(committed_offset, "committed_offset");
      v(committed_leader_epoch, "committed_leader_epoch", since(6));
      v(commit_timestamp, "commit_timestamp", versions{1, 1});
      v(committed_metadata, "committed_metadata");
    }
  };
  struct offset_commit_request_topic {
    std::string name;
    std::vector<offset_commit_request_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  std::string group_id;
  // v1+. -1 with an empty member_id: a standalone commit by a client outside the group (§10.1).
  int32_t generation_id = -1;
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-4; -1: the broker's retention
  std::vector<offset_commit_request_topic> topics;
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(generation_id, "generation_id", since(1));
    v(member_id, "member_id", since(1));
    v(group_instance_id, "group_instance_id", since(7));
    v(retention_time_ms, "retention_time_ms", versions{2, 4});
    v(topics, "topics");
  }
};

struct offset_commit_response {
  struct offset_commit_response_partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(error_code, "error_code");
    }
  };
  struct offset_commit_response_topic {
    std::string name;
    std::vector<offset_commit_response_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<offset_commit_response_topic> topics;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(3));
    v(topics, "topics");
  }
};

struct offset_commit_api {
  static constexpr api_key key = api_key::offset_commit;
  static constexpr const char* name = "OffsetCommit";
  static constexpr int16_t min_version = 2;
  static constexpr int16_t max_version = 7;
  static constexpr int16_t first_flexible = 8;
  using request = offset_commit_request;
  using response = offset_commit_response;
};

}  // namespace spate::kafka
