// InitProducerId (key 22). We advertise 0-1 (profile R, kafka-compat.md §5.2): librdkafka and
// kafkajs send 1; kafka-python has no idempotence. librdkafka's idempotent producer needs 0
// in range (§3.1), and it would send the flexible v2-v4 if we advertised them.
// First flexible version: 2.
//
// With a null transactional_id it hands out a fresh (producer_id, epoch 0) for an idempotent
// producer and can go to any broker; with one it goes to the transaction coordinator, bumps
// the epoch and fences older instances (§11).
//
// By version: v1 only changes throttling (respond first, then throttle); v2 is v1 made
// flexible; v3 adds producer_id and producer_epoch to the request (KIP-360: resume after
// INVALID_PRODUCER_EPOCH by bumping the epoch); v4 only adds the PRODUCER_FENCED error.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct init_producer_id_request {
  std::optional<std::string> transactional_id;  // null: idempotent only
  int32_t transaction_timeout_ms = 0;           // only meaningful with a transactional id
  int64_t producer_id = -1;                     // v3+
  int16_t producer_epoch = -1;                  // v3+
  template <class V>
  void describe(V& v) {
    v(transactional_id, "transactional_id");
    v(transaction_timeout_ms, "transaction_timeout_ms");
    v(producer_id, "producer_id", since(3));
    v(producer_epoch, "producer_epoch", since(3));
  }
};

struct init_producer_id_response {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(error_code, "error_code");
    v(producer_id, "producer_id");
    v(producer_epoch, "producer_epoch");
  }
};

struct init_producer_id_api {
  static constexpr api_key key = api_key::init_producer_id;
  static constexpr const char* name = "InitProducerId";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 2;
  using request = init_producer_id_request;
  using response = init_producer_id_response;
};

}  // namespace spate::kafka
