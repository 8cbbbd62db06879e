// OffsetFetch (key 9). We advertise 1-5 (profile R, kafka-compat.md §5.2): librdkafka sends
// 5, kafkajs 4, kafka-python 1 (its admin client min(3, our max)). librdkafka's
// balanced-consumer flag needs 1 in range (§3.1), and it would send the flexible v6-v7 if we
// advertised them. Unknown groups and partitions without a commit answer offset -1 with no
// error (§10.6). First flexible version: 6.
//
// By version: v1 reads offsets from the log instead of ZooKeeper (same layout as v0); v2
// adds a top-level error_code to the response and lets topics be null, meaning every topic
// the group has committed; v3 adds throttle_time_ms; v4 only changes throttling; v5 adds
// committed_leader_epoch per partition; v6 is v5 made flexible; v7 adds require_stable
// (answer UNSTABLE_OFFSET_COMMIT while a transactional commit is pending). v8+ (several
// groups per request) is not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct offset_fetch_request {
  struct offset_fetch_request_topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partition_indexes, "partition_indexes");
    }
  };
  std::string group_id;  // v0-7
  // v0-7. Null (v2+ only; v0-v1 cannot express it) means every topic the group committed.
  std::optional<std::vector<offset_fetch_request_topic>> topics =
      std::vector<offset_fetch_request_topic>();
  bool require_stable = false;  // v7+
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id", until(7));
    v(topics, "topics", until(7));
    v(require_stable, "require_stable", since(7));
  }
};

struct offset_fetch_response {
  struct offset_fetch_response_partition {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;                        // -1: no commit
    int32_t committed_leader_epoch = -1;                  // v5+
    std::optional<std::string> metadata = std::string();  // Kafka answers "" when there is none
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(committed_offset, "committed_offset");
      v(committed_leader_epoch, "committed_leader_epoch", since(5));
      v(metadata, "metadata");
      v(error_code, "error_code");
    }
  };
  struct offset_fetch_response_topic {
    std::string name;
    std::vector<offset_fetch_response_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int32_t throttle_time_ms = 0;                     // v3+
  std::vector<offset_fetch_response_topic> topics;  // v0-7
  int16_t error_code = 0;                           // v2-7: group or coordinator errors
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(3));
    v(topics, "topics", until(7));
    v(error_code, "error_code", versions{2, 7});
  }
};

struct offset_fetch_api {
  static constexpr api_key key = api_key::offset_fetch;
  static constexpr const char* name = "OffsetFetch";
  static constexpr int16_t min_version = 1;
  static constexpr int16_t max_version = 5;
  static constexpr int16_t first_flexible = 6;
  using request = offset_fetch_request;
  using response = offset_fetch_response;
};

}  // namespace spate::kafka
