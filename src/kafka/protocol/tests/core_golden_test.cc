// Golden bytes for the core client APIs (ApiVersions, Metadata, Produce, Fetch, ListOffsets)
// at the advertised versions that golden_test.cc does not already pin. Together with that file,
// every advertised version of these APIs has at least one fixed-bytes check:
//   ApiVersions 0-3, Metadata 0-4, Produce 0-7, Fetch 4-11, ListOffsets 1-2.
//
// Field order and the version that adds each field follow Apache Kafka's message definitions
// (clients/src/main/resources/common/message/{ApiVersions,Metadata,Produce,Fetch,ListOffsets}
// {Request,Response}.json). Each expected frame is written out by hand, size prefix included,
// and checked in both directions: our encoder produces exactly these bytes, and our decoder
// reads the hand-written bytes back to the same values (check_request, check_response).
#include <gtest/gtest.h>

#include <string>

#include "kafka/protocol/registry.h"
#include "kafka/protocol/tests/message_test_support.h"

namespace spate::kafka {
namespace {

using namespace protocol_test;

// Every request frame below starts with request header v1 (11 bytes): api key and version
// (int16 each), correlation id 1 (int32) and client id "k" (int16 length + bytes). None of the
// versions here is flexible, so there are no tag buffers anywhere. Responses carry correlation
// id 2 in response header v0.

records owned_records(std::initializer_list<int> bytes) {
  records r;
  r.owned = hex(bytes);
  return r;
}

// ---- ApiVersions (18 = 0x12) -----------------------------------------------------------------

TEST(core_golden, api_versions_v0_to_v2_requests_are_the_header_alone) {
  // The request has no fields before v3.
  for (int16_t v = 0; v <= 2; ++v) {
    api_versions_request req;
    check_request<api_versions_api>(v, req,
                                    hex({0x00, 0x00, 0x00, 0x0b,  // size 11: header only
                                         0x00, 0x12, 0x00, v,     // ApiVersions v0..v2
                                         0x00, 0x00, 0x00, 0x01,  // correlation id 1
                                         0x00, 0x01, 'k'}));      // client id "k"
  }
}

TEST(core_golden, api_versions_v0_response) {
  api_versions_response resp;
  resp.api_keys = {{0, 0, 7}, {3, 0, 4}};
  check_response<api_versions_api>(0, resp, hex({0x00, 0x00, 0x00, 0x16,  // size 22
                                                 0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                 0x00, 0x00,              // error_code 0
                                                 0x00, 0x00, 0x00, 0x02,  // api_keys: 2
                                                 0x00, 0x00,              //   api_key 0 (Produce)
                                                 0x00, 0x00,              //   min_version 0
                                                 0x00, 0x07,              //   max_version 7
                                                 0x00, 0x03,              //   api_key 3 (Metadata)
                                                 0x00, 0x00,              //   min_version 0
                                                 0x00, 0x04}));           //   max_version 4
}

TEST(core_golden, api_versions_v1_v2_responses_end_with_throttle_time) {
  for (int16_t v = 1; v <= 2; ++v) {
    api_versions_response resp;
    resp.api_keys = {{1, 4, 11}};
    resp.throttle_time_ms = 7;
    check_response<api_versions_api>(v, resp, hex({0x00, 0x00, 0x00, 0x14,  // size 20
                                                   0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                   0x00, 0x00,              // error_code 0
                                                   0x00, 0x00, 0x00, 0x01,  // api_keys: 1
                                                   0x00, 0x01,              //   api_key 1 (Fetch)
                                                   0x00, 0x04,              //   min_version 4
                                                   0x00, 0x0b,              //   max_version 11
                                                   0x00, 0x00, 0x00, 0x07}));  // throttle_time_ms 7
  }
}

TEST(core_golden, api_versions_v0_response_with_unsupported_version_error) {
  // What a broker answers to an ApiVersions version it does not know: error 35
  // (UNSUPPORTED_VERSION) in a v0 body, which every client can read.
  api_versions_response resp;
  resp.error_code = 35;
  check_response<api_versions_api>(0, resp,
                                   hex({0x00, 0x00, 0x00, 0x0a,     // size 10
                                        0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                        0x00, 0x23,                 // error_code 35
                                        0x00, 0x00, 0x00, 0x00}));  // api_keys: 0
}

// ---- Metadata (3 = 0x03) ---------------------------------------------------------------------

TEST(core_golden, metadata_v1_to_v3_requests_with_one_topic) {
  // v1-v3 share one layout: a nullable array of topic names (golden_test.cc pins null).
  for (int16_t v = 1; v <= 3; ++v) {
    metadata_request req;
    req.topics.emplace().push_back({"t"});
    check_request<metadata_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x12,                   // size 18 = 11 header + 7 body
                     0x00, 0x03, 0x00, v,                      // Metadata v1..v3
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x00, 0x00, 0x01,                   // topics: 1
                     0x00, 0x01, 't'}));                       //   name "t"
  }
}

TEST(core_golden, metadata_v4_request_adds_allow_auto_topic_creation) {
  metadata_request req;
  req.topics.emplace().push_back({"t"});
  req.allow_auto_topic_creation = false;
  check_request<metadata_api>(
      4, req, hex({0x00, 0x00, 0x00, 0x13,                   // size 19 = 11 header + 8 body
                   0x00, 0x03, 0x00, 0x04,                   // Metadata v4
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0x00, 0x00, 0x00, 0x01,                   // topics: 1
                   0x00, 0x01, 't',                          //   name "t"
                   0x00}));                                  // allow_auto_topic_creation false

  metadata_request all;  // null topics (all) with the default, true
  check_request<metadata_api>(
      4, all, hex({0x00, 0x00, 0x00, 0x10,                   // size 16 = 11 header + 5 body
                   0x00, 0x03, 0x00, 0x04,                   // Metadata v4
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0xff, 0xff, 0xff, 0xff,                   // topics: null (all topics)
                   0x01}));                                  // allow_auto_topic_creation true
}

// One broker (1 at h:9092), one topic "t" with one partition led by broker 1, replicas [1],
// isr [1]. Each version's test sets the fields that version adds.
metadata_response one_broker_one_partition() {
  metadata_response resp;
  resp.brokers.push_back({1, "h", 9092, std::nullopt});
  metadata_response::partition p;
  p.error_code = 0;
  p.partition_index = 0;
  p.leader_id = 1;
  p.replica_nodes = {1};
  p.isr_nodes = {1};
  resp.topics.push_back({0, "t", false, {p}, INT32_MIN});
  return resp;
}

TEST(core_golden, metadata_v0_response) {
  auto resp = one_broker_one_partition();
  check_response<metadata_api>(0, resp, hex({0x00, 0x00, 0x00, 0x3a,     // size 58
                                             0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                             0x00, 0x00, 0x00, 0x01,     // brokers: 1
                                             0x00, 0x00, 0x00, 0x01,     //   node_id 1
                                             0x00, 0x01, 'h',            //   host "h"
                                             0x00, 0x00, 0x23, 0x84,     //   port 9092
                                             0x00, 0x00, 0x00, 0x01,     // topics: 1
                                             0x00, 0x00,                 //   error_code 0
                                             0x00, 0x01, 't',            //   name "t"
                                             0x00, 0x00, 0x00, 0x01,     //   partitions: 1
                                             0x00, 0x00,                 //     error_code 0
                                             0x00, 0x00, 0x00, 0x00,     //     partition_index 0
                                             0x00, 0x00, 0x00, 0x01,     //     leader_id 1
                                             0x00, 0x00, 0x00, 0x01,     //     replica_nodes: 1
                                             0x00, 0x00, 0x00, 0x01,     //       1
                                             0x00, 0x00, 0x00, 0x01,     //     isr_nodes: 1
                                             0x00, 0x00, 0x00, 0x01}));  //       1
}

TEST(core_golden, metadata_v1_response_adds_rack_controller_id_and_is_internal) {
  auto resp = one_broker_one_partition();
  resp.brokers[0].rack = "r";
  resp.controller_id = 1;
  resp.topics[0].is_internal = true;
  check_response<metadata_api>(1, resp, hex({0x00, 0x00, 0x00, 0x42,     // size 66
                                             0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                             0x00, 0x00, 0x00, 0x01,     // brokers: 1
                                             0x00, 0x00, 0x00, 0x01,     //   node_id 1
                                             0x00, 0x01, 'h',            //   host "h"
                                             0x00, 0x00, 0x23, 0x84,     //   port 9092
                                             0x00, 0x01, 'r',            //   rack "r"
                                             0x00, 0x00, 0x00, 0x01,     // controller_id 1
                                             0x00, 0x00, 0x00, 0x01,     // topics: 1
                                             0x00, 0x00,                 //   error_code 0
                                             0x00, 0x01, 't',            //   name "t"
                                             0x01,                       //   is_internal true
                                             0x00, 0x00, 0x00, 0x01,     //   partitions: 1
                                             0x00, 0x00,                 //     error_code 0
                                             0x00, 0x00, 0x00, 0x00,     //     partition_index 0
                                             0x00, 0x00, 0x00, 0x01,     //     leader_id 1
                                             0x00, 0x00, 0x00, 0x01,     //     replica_nodes: 1
                                             0x00, 0x00, 0x00, 0x01,     //       1
                                             0x00, 0x00, 0x00, 0x01,     //     isr_nodes: 1
                                             0x00, 0x00, 0x00, 0x01}));  //       1
}

TEST(core_golden, metadata_v2_response_adds_cluster_id_before_controller_id) {
  auto resp = one_broker_one_partition();  // rack stays null
  resp.cluster_id = "c";
  resp.controller_id = 1;
  check_response<metadata_api>(2, resp, hex({0x00, 0x00, 0x00, 0x44,     // size 68
                                             0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                             0x00, 0x00, 0x00, 0x01,     // brokers: 1
                                             0x00, 0x00, 0x00, 0x01,     //   node_id 1
                                             0x00, 0x01, 'h',            //   host "h"
                                             0x00, 0x00, 0x23, 0x84,     //   port 9092
                                             0xff, 0xff,                 //   rack null
                                             0x00, 0x01, 'c',            // cluster_id "c"
                                             0x00, 0x00, 0x00, 0x01,     // controller_id 1
                                             0x00, 0x00, 0x00, 0x01,     // topics: 1
                                             0x00, 0x00,                 //   error_code 0
                                             0x00, 0x01, 't',            //   name "t"
                                             0x00,                       //   is_internal false
                                             0x00, 0x00, 0x00, 0x01,     //   partitions: 1
                                             0x00, 0x00,                 //     error_code 0
                                             0x00, 0x00, 0x00, 0x00,     //     partition_index 0
                                             0x00, 0x00, 0x00, 0x01,     //     leader_id 1
                                             0x00, 0x00, 0x00, 0x01,     //     replica_nodes: 1
                                             0x00, 0x00, 0x00, 0x01,     //       1
                                             0x00, 0x00, 0x00, 0x01,     //     isr_nodes: 1
                                             0x00, 0x00, 0x00, 0x01}));  //       1
}

TEST(core_golden, metadata_v3_v4_responses_lead_with_throttle_time) {
  // v4 changes only the request; the response keeps v3's layout.
  for (int16_t v = 3; v <= 4; ++v) {
    auto resp = one_broker_one_partition();
    resp.throttle_time_ms = 7;
    resp.brokers[0].rack = "r";
    resp.cluster_id = "c";
    resp.controller_id = 1;
    check_response<metadata_api>(v, resp, hex({0x00, 0x00, 0x00, 0x49,     // size 73
                                               0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                               0x00, 0x00, 0x00, 0x07,     // throttle_time_ms 7
                                               0x00, 0x00, 0x00, 0x01,     // brokers: 1
                                               0x00, 0x00, 0x00, 0x01,     //   node_id 1
                                               0x00, 0x01, 'h',            //   host "h"
                                               0x00, 0x00, 0x23, 0x84,     //   port 9092
                                               0x00, 0x01, 'r',            //   rack "r"
                                               0x00, 0x01, 'c',            // cluster_id "c"
                                               0x00, 0x00, 0x00, 0x01,     // controller_id 1
                                               0x00, 0x00, 0x00, 0x01,     // topics: 1
                                               0x00, 0x00,                 //   error_code 0
                                               0x00, 0x01, 't',            //   name "t"
                                               0x00,                       //   is_internal false
                                               0x00, 0x00, 0x00, 0x01,     //   partitions: 1
                                               0x00, 0x00,                 //     error_code 0
                                               0x00, 0x00, 0x00, 0x00,     //     partition_index 0
                                               0x00, 0x00, 0x00, 0x01,     //     leader_id 1
                                               0x00, 0x00, 0x00, 0x01,     //     replica_nodes: 1
                                               0x00, 0x00, 0x00, 0x01,     //       1
                                               0x00, 0x00, 0x00, 0x01,     //     isr_nodes: 1
                                               0x00, 0x00, 0x00, 0x01}));  //       1
  }
}

// ---- Produce (0 = 0x00) ----------------------------------------------------------------------

TEST(core_golden, produce_v0_to_v2_requests_have_no_transactional_id) {
  // The broker refuses Produce below v3 (only magic 2 is accepted) but advertises v0 for
  // librdkafka's sake; the codec still reads the v0-v2 layout so the refusal can be answered.
  for (int16_t v = 0; v <= 2; ++v) {
    produce_request req;
    req.acks = 1;
    req.timeout_ms = 1000;
    req.topic_data.push_back({"t", {{0, owned_records({1, 2, 3})}}});
    check_request<produce_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x27,                   // size 39 = 11 header + 28 body
                     0x00, 0x00, 0x00, v,                      // Produce v0..v2
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x01,                               // acks 1
                     0x00, 0x00, 0x03, 0xe8,                   // timeout_ms 1000
                     0x00, 0x00, 0x00, 0x01,                   // topic_data: 1
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x01,                   //   partition_data: 1
                     0x00, 0x00, 0x00, 0x00,                   //     index 0
                     0x00, 0x00, 0x00, 0x03,                   //     records: 3 bytes
                     0x01, 0x02, 0x03}));
  }
}

TEST(core_golden, produce_v4_to_v7_requests_share_v3_layout) {
  // v4 (KAFKA_STORAGE_ERROR possible), v5, v6 and v7 (zstd allowed) change only semantics:
  // the same message gives the same body, only the version in the header differs.
  for (int16_t v = 4; v <= 7; ++v) {
    produce_request req;
    req.transactional_id = "x";
    req.acks = -1;
    req.timeout_ms = 1000;
    req.topic_data.push_back({"t", {{0, owned_records({1, 2, 3})}}});
    check_request<produce_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x2a,                   // size 42 = 11 header + 31 body
                     0x00, 0x00, 0x00, v,                      // Produce v4..v7
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x01, 'x',                          // transactional_id "x"
                     0xff, 0xff,                               // acks -1 (all in-sync replicas)
                     0x00, 0x00, 0x03, 0xe8,                   // timeout_ms 1000
                     0x00, 0x00, 0x00, 0x01,                   // topic_data: 1
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x01,                   //   partition_data: 1
                     0x00, 0x00, 0x00, 0x00,                   //     index 0
                     0x00, 0x00, 0x00, 0x03,                   //     records: 3 bytes
                     0x01, 0x02, 0x03}));
  }
}

TEST(core_golden, produce_v4_to_v7_requests_with_null_transactional_id_and_null_records) {
  // Records are nullable in every version; a null transactional id is a non-transactional
  // producer.
  for (int16_t v = 4; v <= 7; ++v) {
    produce_request req;
    req.acks = 0;
    req.timeout_ms = 1000;
    req.topic_data.push_back({"t", {{2, records{}}}});
    check_request<produce_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x26,                   // size 38 = 11 header + 27 body
                     0x00, 0x00, 0x00, v,                      // Produce v4..v7
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0xff, 0xff,                               // transactional_id null
                     0x00, 0x00,                               // acks 0
                     0x00, 0x00, 0x03, 0xe8,                   // timeout_ms 1000
                     0x00, 0x00, 0x00, 0x01,                   // topic_data: 1
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x01,                   //   partition_data: 1
                     0x00, 0x00, 0x00, 0x02,                   //     index 2
                     0xff, 0xff, 0xff, 0xff}));                //     records null
  }
}

TEST(core_golden, produce_v0_response_has_no_throttle_time) {
  produce_response resp;
  produce_response::partition_response p;
  p.index = 0;
  p.base_offset = 42;
  resp.responses.push_back({"t", {p}});
  check_response<produce_api>(0, resp, hex({0x00, 0x00, 0x00, 0x1d,  // size 29
                                            0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                            0x00, 0x00, 0x00, 0x01,  // responses: 1
                                            0x00, 0x01, 't',         //   name "t"
                                            0x00, 0x00, 0x00, 0x01,  //   partition_responses: 1
                                            0x00, 0x00, 0x00, 0x00,  //     index 0
                                            0x00, 0x00,              //     error_code 0
                                            0x00, 0x00, 0x00, 0x00,  //     base_offset 42
                                            0x00, 0x00, 0x00, 0x2a}));
}

TEST(core_golden, produce_v1_response_adds_throttle_time_at_the_end) {
  produce_response resp;
  produce_response::partition_response p;
  p.index = 0;
  p.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
  p.base_offset = -1;
  resp.responses.push_back({"t", {p}});
  resp.throttle_time_ms = 7;
  check_response<produce_api>(1, resp, hex({0x00, 0x00, 0x00, 0x21,     // size 33
                                            0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                            0x00, 0x00, 0x00, 0x01,     // responses: 1
                                            0x00, 0x01, 't',            //   name "t"
                                            0x00, 0x00, 0x00, 0x01,     //   partition_responses: 1
                                            0x00, 0x00, 0x00, 0x00,     //     index 0
                                            0x00, 0x06,                 //     error_code 6
                                            0xff, 0xff, 0xff, 0xff,     //     base_offset -1
                                            0xff, 0xff, 0xff, 0xff,     //
                                            0x00, 0x00, 0x00, 0x07}));  // throttle_time_ms 7
}

TEST(core_golden, produce_v2_to_v4_responses_add_log_append_time) {
  // v3 and v4 keep v2's response layout (v4 only adds a possible error code).
  for (int16_t v = 2; v <= 4; ++v) {
    produce_response resp;
    produce_response::partition_response p;
    p.index = 0;
    p.base_offset = 42;
    p.log_append_time_ms = 1000;  // a LogAppendTime topic
    resp.responses.push_back({"t", {p}});
    resp.throttle_time_ms = 7;
    check_response<produce_api>(v, resp, hex({0x00, 0x00, 0x00, 0x29,  // size 41
                                              0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                              0x00, 0x00, 0x00, 0x01,  // responses: 1
                                              0x00, 0x01, 't',         //   name "t"
                                              0x00, 0x00, 0x00, 0x01,  //   partition_responses: 1
                                              0x00, 0x00, 0x00, 0x00,  //     index 0
                                              0x00, 0x00,              //     error_code 0
                                              0x00, 0x00, 0x00, 0x00,  //     base_offset 42
                                              0x00, 0x00, 0x00, 0x2a,  //
                                              0x00, 0x00, 0x00, 0x00,  //     log_append_time_ms
                                              0x00, 0x00, 0x03, 0xe8,  //       1000
                                              0x00, 0x00, 0x00, 0x07}));  // throttle_time_ms 7
  }
}

TEST(core_golden, produce_v5_v6_responses_add_log_start_offset) {
  for (int16_t v = 5; v <= 6; ++v) {
    produce_response resp;
    produce_response::partition_response p;
    p.index = 1;
    p.base_offset = 42;
    p.log_append_time_ms = -1;  // a CreateTime topic
    p.log_start_offset = 5;
    resp.responses.push_back({"t", {p}});
    resp.throttle_time_ms = 7;
    check_response<produce_api>(v, resp, hex({0x00, 0x00, 0x00, 0x31,  // size 49
                                              0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                              0x00, 0x00, 0x00, 0x01,  // responses: 1
                                              0x00, 0x01, 't',         //   name "t"
                                              0x00, 0x00, 0x00, 0x01,  //   partition_responses: 1
                                              0x00, 0x00, 0x00, 0x01,  //     index 1
                                              0x00, 0x00,              //     error_code 0
                                              0x00, 0x00, 0x00, 0x00,  //     base_offset 42
                                              0x00, 0x00, 0x00, 0x2a,  //
                                              0xff, 0xff, 0xff, 0xff,  //     log_append_time_ms
                                              0xff, 0xff, 0xff, 0xff,  //       -1
                                              0x00, 0x00, 0x00, 0x00,  //     log_start_offset 5
                                              0x00, 0x00, 0x00, 0x05,  //
                                              0x00, 0x00, 0x00, 0x07}));  // throttle_time_ms 7
  }
}

// ---- Fetch (1 = 0x01) ------------------------------------------------------------------------

TEST(core_golden, fetch_v7_v8_requests_add_session_and_forgotten_topics) {
  // v8 is the same as v7. v5 added log_start_offset per partition; v7 the session id and
  // epoch and the forgotten topics of an incremental fetch.
  for (int16_t v = 7; v <= 8; ++v) {
    fetch_request req;
    req.replica_id = -1;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.isolation_level = 1;
    req.session_id = 5;
    req.session_epoch = 2;
    req.topics.push_back({"t", {{0, -1, 9, -1, 4096}}});
    req.forgotten_topics_data.push_back({"u", {1, 2}});
    check_request<fetch_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x5a,                   // size 90 = 11 header + 79 body
                     0x00, 0x01, 0x00, v,                      // Fetch v7/v8
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0xff, 0xff, 0xff, 0xff,                   // replica_id -1 (a consumer)
                     0x00, 0x00, 0x01, 0xf4,                   // max_wait_ms 500
                     0x00, 0x00, 0x00, 0x01,                   // min_bytes 1
                     0x00, 0x10, 0x00, 0x00,                   // max_bytes 1 MiB
                     0x01,                                     // isolation_level read_committed
                     0x00, 0x00, 0x00, 0x05,                   // session_id 5
                     0x00, 0x00, 0x00, 0x02,                   // session_epoch 2
                     0x00, 0x00, 0x00, 0x01,                   // topics: 1
                     0x00, 0x01, 't',                          //   topic "t"
                     0x00, 0x00, 0x00, 0x01,                   //   partitions: 1
                     0x00, 0x00, 0x00, 0x00,                   //     partition 0
                     0x00, 0x00, 0x00, 0x00,                   //     fetch_offset 9
                     0x00, 0x00, 0x00, 0x09,                   //
                     0xff, 0xff, 0xff, 0xff,                   //     log_start_offset -1
                     0xff, 0xff, 0xff, 0xff,                   //       (only followers set it)
                     0x00, 0x00, 0x10, 0x00,                   //     partition_max_bytes 4096
                     0x00, 0x00, 0x00, 0x01,                   // forgotten_topics_data: 1
                     0x00, 0x01, 'u',                          //   topic "u"
                     0x00, 0x00, 0x00, 0x02,                   //   partitions: 2
                     0x00, 0x00, 0x00, 0x01,                   //     1
                     0x00, 0x00, 0x00, 0x02}));                //     2
  }
}

TEST(core_golden, fetch_v9_v10_requests_add_current_leader_epoch) {
  // v10 is the same as v9 (it only allows zstd in the response).
  for (int16_t v = 9; v <= 10; ++v) {
    fetch_request req;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.session_id = 0;
    req.session_epoch = -1;  // a full fetch, no session
    req.topics.push_back({"t", {{0, 3, 9, -1, 4096}}});
    check_request<fetch_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x4f,                   // size 79 = 11 header + 68 body
                     0x00, 0x01, 0x00, v,                      // Fetch v9/v10
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0xff, 0xff, 0xff, 0xff,                   // replica_id -1
                     0x00, 0x00, 0x01, 0xf4,                   // max_wait_ms 500
                     0x00, 0x00, 0x00, 0x01,                   // min_bytes 1
                     0x00, 0x10, 0x00, 0x00,                   // max_bytes 1 MiB
                     0x00,                                     // isolation_level 0
                     0x00, 0x00, 0x00, 0x00,                   // session_id 0
                     0xff, 0xff, 0xff, 0xff,                   // session_epoch -1
                     0x00, 0x00, 0x00, 0x01,                   // topics: 1
                     0x00, 0x01, 't',                          //   topic "t"
                     0x00, 0x00, 0x00, 0x01,                   //   partitions: 1
                     0x00, 0x00, 0x00, 0x00,                   //     partition 0
                     0x00, 0x00, 0x00, 0x03,                   //     current_leader_epoch 3
                     0x00, 0x00, 0x00, 0x00,                   //     fetch_offset 9
                     0x00, 0x00, 0x00, 0x09,                   //
                     0xff, 0xff, 0xff, 0xff,                   //     log_start_offset -1
                     0xff, 0xff, 0xff, 0xff,                   //
                     0x00, 0x00, 0x10, 0x00,                   //     partition_max_bytes 4096
                     0x00, 0x00, 0x00, 0x00}));                // forgotten_topics_data: 0
  }
}

TEST(core_golden, fetch_v11_request_adds_rack_id_at_the_end) {
  fetch_request req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  req.isolation_level = 1;
  req.session_id = 5;
  req.session_epoch = 2;
  req.topics.push_back({"t", {{0, 3, 9, -1, 4096}}});
  req.forgotten_topics_data.push_back({"u", {1}});
  req.rack_id = "r";
  check_request<fetch_api>(
      11, req, hex({0x00, 0x00, 0x00, 0x5d,                   // size 93 = 11 header + 82 body
                    0x00, 0x01, 0x00, 0x0b,                   // Fetch v11
                    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                    0xff, 0xff, 0xff, 0xff,                   // replica_id -1
                    0x00, 0x00, 0x01, 0xf4,                   // max_wait_ms 500
                    0x00, 0x00, 0x00, 0x01,                   // min_bytes 1
                    0x00, 0x10, 0x00, 0x00,                   // max_bytes 1 MiB
                    0x01,                                     // isolation_level read_committed
                    0x00, 0x00, 0x00, 0x05,                   // session_id 5
                    0x00, 0x00, 0x00, 0x02,                   // session_epoch 2
                    0x00, 0x00, 0x00, 0x01,                   // topics: 1
                    0x00, 0x01, 't',                          //   topic "t"
                    0x00, 0x00, 0x00, 0x01,                   //   partitions: 1
                    0x00, 0x00, 0x00, 0x00,                   //     partition 0
                    0x00, 0x00, 0x00, 0x03,                   //     current_leader_epoch 3
                    0x00, 0x00, 0x00, 0x00,                   //     fetch_offset 9
                    0x00, 0x00, 0x00, 0x09,                   //
                    0xff, 0xff, 0xff, 0xff,                   //     log_start_offset -1
                    0xff, 0xff, 0xff, 0xff,                   //
                    0x00, 0x00, 0x10, 0x00,                   //     partition_max_bytes 4096
                    0x00, 0x00, 0x00, 0x01,                   // forgotten_topics_data: 1
                    0x00, 0x01, 'u',                          //   topic "u"
                    0x00, 0x00, 0x00, 0x01,                   //   partitions: 1
                    0x00, 0x00, 0x00, 0x01,                   //     1
                    0x00, 0x01, 'r'}));                       // rack_id "r"
}

TEST(core_golden, fetch_v4_response_with_transactional_fields) {
  // Partition 0: three bytes of records, no aborted transaction to report (null, as a broker
  // sends for read_uncommitted). Partition 1: one aborted transaction and null records.
  fetch_response resp;
  resp.throttle_time_ms = 7;
  auto& t = resp.responses.emplace_back();
  t.topic = "t";
  auto& p0 = t.partitions.emplace_back();
  p0.partition_index = 0;
  p0.high_watermark = 10;
  p0.last_stable_offset = 10;
  p0.records = owned_records({1, 2, 3});
  auto& p1 = t.partitions.emplace_back();
  p1.partition_index = 1;
  p1.high_watermark = 5;
  p1.last_stable_offset = 3;
  p1.aborted_transactions.emplace().push_back({7, 3});
  check_response<fetch_api>(4, resp, hex({0x00, 0x00, 0x00, 0x62,  // size 98
                                          0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                          0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                          0x00, 0x00, 0x00, 0x01,  // responses: 1
                                          0x00, 0x01, 't',         //   topic "t"
                                          0x00, 0x00, 0x00, 0x02,  //   partitions: 2
                                          0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                          0x00, 0x00,              //     error_code 0
                                          0x00, 0x00, 0x00, 0x00,  //     high_watermark 10
                                          0x00, 0x00, 0x00, 0x0a,  //
                                          0x00, 0x00, 0x00, 0x00,  //     last_stable_offset 10
                                          0x00, 0x00, 0x00, 0x0a,  //
                                          0xff, 0xff, 0xff, 0xff,  //     aborted_transactions null
                                          0x00, 0x00, 0x00, 0x03,  //     records: 3 bytes
                                          0x01, 0x02, 0x03,        //
                                          0x00, 0x00, 0x00, 0x01,  //     partition_index 1
                                          0x00, 0x00,              //     error_code 0
                                          0x00, 0x00, 0x00, 0x00,  //     high_watermark 5
                                          0x00, 0x00, 0x00, 0x05,  //
                                          0x00, 0x00, 0x00, 0x00,  //     last_stable_offset 3
                                          0x00, 0x00, 0x00, 0x03,  //
                                          0x00, 0x00, 0x00, 0x01,  //     aborted_transactions: 1
                                          0x00, 0x00, 0x00, 0x00,  //       producer_id 7
                                          0x00, 0x00, 0x00, 0x07,  //
                                          0x00, 0x00, 0x00, 0x00,  //       first_offset 3
                                          0x00, 0x00, 0x00, 0x03,  //
                                          0xff, 0xff, 0xff, 0xff}));  //     records null
}

TEST(core_golden, fetch_v5_v6_responses_add_log_start_offset) {
  // v6 is the same as v5 (it may return KAFKA_STORAGE_ERROR).
  for (int16_t v = 5; v <= 6; ++v) {
    fetch_response resp;
    resp.throttle_time_ms = 7;
    auto& t = resp.responses.emplace_back();
    t.topic = "t";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.high_watermark = 10;
    p.last_stable_offset = 10;
    p.log_start_offset = 0;
    p.aborted_transactions.emplace();  // empty, not null
    p.records = owned_records({1, 2, 3});
    check_response<fetch_api>(v, resp, hex({0x00, 0x00, 0x00, 0x3c,  // size 60
                                            0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                            0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                            0x00, 0x00, 0x00, 0x01,  // responses: 1
                                            0x00, 0x01, 't',         //   topic "t"
                                            0x00, 0x00, 0x00, 0x01,  //   partitions: 1
                                            0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                            0x00, 0x00,              //     error_code 0
                                            0x00, 0x00, 0x00, 0x00,  //     high_watermark 10
                                            0x00, 0x00, 0x00, 0x0a,  //
                                            0x00, 0x00, 0x00, 0x00,  //     last_stable_offset 10
                                            0x00, 0x00, 0x00, 0x0a,  //
                                            0x00, 0x00, 0x00, 0x00,  //     log_start_offset 0
                                            0x00, 0x00, 0x00, 0x00,  //
                                            0x00, 0x00, 0x00, 0x00,  //     aborted_transactions: 0
                                            0x00, 0x00, 0x00, 0x03,  //     records: 3 bytes
                                            0x01, 0x02, 0x03}));
  }
}

TEST(core_golden, fetch_v7_to_v10_responses_add_error_code_and_session_id) {
  // v8 (throttle before responding), v9 and v10 (zstd) keep v7's layout.
  for (int16_t v = 7; v <= 10; ++v) {
    fetch_response resp;
    resp.throttle_time_ms = 7;
    resp.error_code = 0;
    resp.session_id = 5;
    auto& t = resp.responses.emplace_back();
    t.topic = "t";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.high_watermark = 10;
    p.last_stable_offset = 10;
    p.log_start_offset = 0;
    p.records = owned_records({1, 2, 3});
    check_response<fetch_api>(v, resp,
                              hex({0x00, 0x00, 0x00, 0x42,  // size 66
                                   0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                   0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                   0x00, 0x00,              // error_code 0
                                   0x00, 0x00, 0x00, 0x05,  // session_id 5
                                   0x00, 0x00, 0x00, 0x01,  // responses: 1
                                   0x00, 0x01, 't',         //   topic "t"
                                   0x00, 0x00, 0x00, 0x01,  //   partitions: 1
                                   0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                   0x00, 0x00,              //     error_code 0
                                   0x00, 0x00, 0x00, 0x00,  //     high_watermark 10
                                   0x00, 0x00, 0x00, 0x0a,  //
                                   0x00, 0x00, 0x00, 0x00,  //     last_stable_offset 10
                                   0x00, 0x00, 0x00, 0x0a,  //
                                   0x00, 0x00, 0x00, 0x00,  //     log_start_offset 0
                                   0x00, 0x00, 0x00, 0x00,  //
                                   0xff, 0xff, 0xff, 0xff,  //     aborted_transactions null
                                   0x00, 0x00, 0x00, 0x03,  //     records: 3 bytes
                                   0x01, 0x02, 0x03}));
  }
}

TEST(core_golden, fetch_v7_response_with_a_top_level_error) {
  // A session error fails the whole fetch: top-level error 71 (INVALID_FETCH_SESSION_EPOCH),
  // session id 0 and no topics.
  fetch_response resp;
  resp.error_code = 71;
  check_response<fetch_api>(7, resp, hex({0x00, 0x00, 0x00, 0x12,     // size 18
                                          0x00, 0x00, 0x00, 0x02,     // correlation id 2
                                          0x00, 0x00, 0x00, 0x00,     // throttle_time_ms 0
                                          0x00, 0x47,                 // error_code 71
                                          0x00, 0x00, 0x00, 0x00,     // session_id 0
                                          0x00, 0x00, 0x00, 0x00}));  // responses: 0
}

TEST(core_golden, fetch_v11_response_adds_preferred_read_replica) {
  fetch_response resp;
  resp.throttle_time_ms = 7;
  resp.session_id = 5;
  auto& t = resp.responses.emplace_back();
  t.topic = "t";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.high_watermark = 10;
  p.last_stable_offset = 10;
  p.log_start_offset = 0;
  p.preferred_read_replica = -1;  // no preference: keep fetching from the leader
  p.records = owned_records({1, 2, 3});
  check_response<fetch_api>(11, resp, hex({0x00, 0x00, 0x00, 0x46,  // size 70
                                           0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                           0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                           0x00, 0x00,              // error_code 0
                                           0x00, 0x00, 0x00, 0x05,  // session_id 5
                                           0x00, 0x00, 0x00, 0x01,  // responses: 1
                                           0x00, 0x01, 't',         //   topic "t"
                                           0x00, 0x00, 0x00, 0x01,  //   partitions: 1
                                           0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                           0x00, 0x00,              //     error_code 0
                                           0x00, 0x00, 0x00, 0x00,  //     high_watermark 10
                                           0x00, 0x00, 0x00, 0x0a,  //
                                           0x00, 0x00, 0x00, 0x00,  //     last_stable_offset 10
                                           0x00, 0x00, 0x00, 0x0a,  //
                                           0x00, 0x00, 0x00, 0x00,  //     log_start_offset 0
                                           0x00, 0x00, 0x00, 0x00,  //
                                           0xff, 0xff, 0xff, 0xff,  //     aborted_transactions null
                                           0xff, 0xff, 0xff, 0xff,  //     preferred_read_replica -1
                                           0x00, 0x00, 0x00, 0x03,  //     records: 3 bytes
                                           0x01, 0x02, 0x03}));
}

// ---- ListOffsets (2 = 0x02) ------------------------------------------------------------------

TEST(core_golden, list_offsets_v1_request_has_no_max_num_offsets) {
  // v1 drops v0's max_num_offsets: one offset per partition.
  list_offsets_request req;
  req.topics.push_back({"t", {{0, -1, -1, 1}, {1, -1, -2, 1}}});
  check_request<list_offsets_api>(
      1, req, hex({0x00, 0x00, 0x00, 0x32,                   // size 50 = 11 header + 39 body
                   0x00, 0x02, 0x00, 0x01,                   // ListOffsets v1
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0xff, 0xff, 0xff, 0xff,                   // replica_id -1 (a consumer)
                   0x00, 0x00, 0x00, 0x01,                   // topics: 1
                   0x00, 0x01, 't',                          //   name "t"
                   0x00, 0x00, 0x00, 0x02,                   //   partitions: 2
                   0x00, 0x00, 0x00, 0x00,                   //     partition_index 0
                   0xff, 0xff, 0xff, 0xff,                   //     timestamp -1 (latest)
                   0xff, 0xff, 0xff, 0xff,                   //
                   0x00, 0x00, 0x00, 0x01,                   //     partition_index 1
                   0xff, 0xff, 0xff, 0xff,                   //     timestamp -2 (earliest)
                   0xff, 0xff, 0xff, 0xfe}));
}

TEST(core_golden, list_offsets_v2_request_adds_isolation_level) {
  list_offsets_request req;
  req.isolation_level = 1;  // read_committed: latest means the last stable offset
  req.topics.push_back({"t", {{0, -1, -1, 1}, {1, -1, -2, 1}}});
  check_request<list_offsets_api>(
      2, req, hex({0x00, 0x00, 0x00, 0x33,                   // size 51 = 11 header + 40 body
                   0x00, 0x02, 0x00, 0x02,                   // ListOffsets v2
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0xff, 0xff, 0xff, 0xff,                   // replica_id -1
                   0x01,                                     // isolation_level read_committed
                   0x00, 0x00, 0x00, 0x01,                   // topics: 1
                   0x00, 0x01, 't',                          //   name "t"
                   0x00, 0x00, 0x00, 0x02,                   //   partitions: 2
                   0x00, 0x00, 0x00, 0x00,                   //     partition_index 0
                   0xff, 0xff, 0xff, 0xff,                   //     timestamp -1 (latest)
                   0xff, 0xff, 0xff, 0xff,                   //
                   0x00, 0x00, 0x00, 0x01,                   //     partition_index 1
                   0xff, 0xff, 0xff, 0xff,                   //     timestamp -2 (earliest)
                   0xff, 0xff, 0xff, 0xfe}));
}

TEST(core_golden, list_offsets_v1_request_decodes_absent_fields_as_defaults) {
  // Neither isolation_level (v2+) nor max_num_offsets (v0 only) is on the wire in v1.
  auto body = hex({0x00, 0x02, 0x00, 0x01,                   // ListOffsets v1
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0xff, 0xff, 0xff, 0xff,                   // replica_id -1
                   0x00, 0x00, 0x00, 0x01,                   // topics: 1
                   0x00, 0x01, 't',                          //   name "t"
                   0x00, 0x00, 0x00, 0x01,                   //   partitions: 1
                   0x00, 0x00, 0x00, 0x00,                   //     partition_index 0
                   0xff, 0xff, 0xff, 0xff,                   //     timestamp -1
                   0xff, 0xff, 0xff, 0xff});
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  list_offsets_request req;
  ASSERT_TRUE(decode_request<list_offsets_api>(body, *hdr, req));
  EXPECT_EQ(req.isolation_level, 0);
  ASSERT_EQ(req.topics.size(), 1u);
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  EXPECT_EQ(req.topics[0].partitions[0].timestamp, -1);
  EXPECT_EQ(req.topics[0].partitions[0].max_num_offsets, 1);
  EXPECT_EQ(req.topics[0].partitions[0].current_leader_epoch, -1);
}

TEST(core_golden, list_offsets_v1_response_has_timestamp_and_offset) {
  // v1 replaces v0's old_style_offsets array with one timestamp and one offset.
  list_offsets_response resp;
  list_offsets_response::partition ok;
  ok.partition_index = 0;
  ok.timestamp = -1;
  ok.offset = 42;
  list_offsets_response::partition failed;
  failed.partition_index = 1;
  failed.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
  resp.topics.push_back({"t", {ok, failed}});
  check_response<list_offsets_api>(1, resp, hex({0x00, 0x00, 0x00, 0x3b,  // size 59
                                                 0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                 0x00, 0x00, 0x00, 0x01,  // topics: 1
                                                 0x00, 0x01, 't',         //   name "t"
                                                 0x00, 0x00, 0x00, 0x02,  //   partitions: 2
                                                 0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                                 0x00, 0x00,              //     error_code 0
                                                 0xff, 0xff, 0xff, 0xff,  //     timestamp -1
                                                 0xff, 0xff, 0xff, 0xff,  //
                                                 0x00, 0x00, 0x00, 0x00,  //     offset 42
                                                 0x00, 0x00, 0x00, 0x2a,  //
                                                 0x00, 0x00, 0x00, 0x01,  //     partition_index 1
                                                 0x00, 0x06,              //     error_code 6
                                                 0xff, 0xff, 0xff, 0xff,  //     timestamp -1
                                                 0xff, 0xff, 0xff, 0xff,  //
                                                 0xff, 0xff, 0xff, 0xff,  //     offset -1
                                                 0xff, 0xff, 0xff, 0xff}));
}

TEST(core_golden, list_offsets_v2_response_leads_with_throttle_time) {
  list_offsets_response resp;
  resp.throttle_time_ms = 7;
  list_offsets_response::partition ok;
  ok.partition_index = 0;
  ok.timestamp = -1;
  ok.offset = 42;
  list_offsets_response::partition failed;
  failed.partition_index = 1;
  failed.error_code = 6;
  resp.topics.push_back({"t", {ok, failed}});
  check_response<list_offsets_api>(2, resp, hex({0x00, 0x00, 0x00, 0x3f,  // size 63
                                                 0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                 0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                                 0x00, 0x00, 0x00, 0x01,  // topics: 1
                                                 0x00, 0x01, 't',         //   name "t"
                                                 0x00, 0x00, 0x00, 0x02,  //   partitions: 2
                                                 0x00, 0x00, 0x00, 0x00,  //     partition_index 0
                                                 0x00, 0x00,              //     error_code 0
                                                 0xff, 0xff, 0xff, 0xff,  //     timestamp -1
                                                 0xff, 0xff, 0xff, 0xff,  //
                                                 0x00, 0x00, 0x00, 0x00,  //     offset 42
                                                 0x00, 0x00, 0x00, 0x2a,  //
                                                 0x00, 0x00, 0x00, 0x01,  //     partition_index 1
                                                 0x00, 0x06,              //     error_code 6
                                                 0xff, 0xff, 0xff, 0xff,  //     timestamp -1
                                                 0xff, 0xff, 0xff, 0xff,  //
                                                 0xff, 0xff, 0xff, 0xff,  //     offset -1
                                                 0xff, 0xff, 0xff, 0xff}));
}

}  // namespace
}  // namespace spate::kafka
