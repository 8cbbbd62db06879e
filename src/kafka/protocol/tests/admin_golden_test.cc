// Golden bytes for the admin APIs (CreateTopics, DeleteTopics, DeleteRecords, DescribeConfigs,
// AlterConfigs, CreatePartitions), one request and one response for every version we
// advertise. Each expected frame is written out by hand from the protocol's field layouts,
// size prefix included, and checked in both directions: our encoder produces exactly these
// bytes, and our decoder reads the hand-written bytes back to the same values.
//
// Then a round-trip property over the whole api_list: for every API and advertised version, a
// request and a response with a non-default value in every field of that version encode and
// decode back to the same message.
#include <gtest/gtest.h>

#include <string>

#include "kafka/protocol/registry.h"
#include "kafka/protocol/tests/message_test_support.h"

namespace spate::kafka {
namespace {

using namespace protocol_test;

// Every request frame below starts with the same request header v1 (11 bytes): api key and
// version (int16 each), then correlation id 1 (int32) and client id "k" (int16 length + bytes).

// ---- CreateTopics (19 = 0x13) ----------------------------------------------------------------

TEST(admin_golden, create_topics_v0_request_with_assignment_and_configs) {
  create_topics_request req;
  req.topics.push_back({"t", -1, -1, {{0, {1}}}, {{"k", "v"}, {"n", std::nullopt}}});
  req.timeout_ms = 5000;
  check_request<create_topics_api>(
      0, req, hex({0x00, 0x00, 0x00, 0x3b,                   // size 59 = 11 header + 48 body
                   0x00, 0x13, 0x00, 0x00,                   // CreateTopics v0
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0x00, 0x00, 0x00, 0x01,                   // topics: 1
                   0x00, 0x01, 't',                          //   name "t"
                   0xff, 0xff, 0xff, 0xff,     //   num_partitions -1 (see assignments)
                   0xff, 0xff,                 //   replication_factor -1
                   0x00, 0x00, 0x00, 0x01,     //   assignments: 1
                   0x00, 0x00, 0x00, 0x00,     //     partition_index 0
                   0x00, 0x00, 0x00, 0x01,     //     broker_ids: 1
                   0x00, 0x00, 0x00, 0x01,     //       broker 1
                   0x00, 0x00, 0x00, 0x02,     //   configs: 2
                   0x00, 0x01, 'k',            //     name "k"
                   0x00, 0x01, 'v',            //     value "v"
                   0x00, 0x01, 'n',            //     name "n"
                   0xff, 0xff,                 //     value null
                   0x00, 0x00, 0x13, 0x88}));  // timeout_ms 5000
}

TEST(admin_golden, create_topics_v1_to_v4_requests_share_one_layout) {
  // v1 adds validate_only; v2-v4 change only semantics, not the layout.
  for (int16_t v = 1; v <= 4; ++v) {
    create_topics_request req;
    req.topics.push_back({"t", 3, 1, {}, {}});
    req.timeout_ms = 5000;
    req.validate_only = true;
    check_request<create_topics_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x25,                   // size 37 = 11 header + 26 body
                     0x00, 0x13, 0x00, v,                      // CreateTopics v1..v4
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x00, 0x00, 0x01,                   // topics: 1
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x03,                   //   num_partitions 3
                     0x00, 0x01,                               //   replication_factor 1
                     0x00, 0x00, 0x00, 0x00,                   //   assignments: 0 (automatic)
                     0x00, 0x00, 0x00, 0x00,                   //   configs: 0
                     0x00, 0x00, 0x13, 0x88,                   // timeout_ms 5000
                     0x01}));                                  // validate_only true
  }
}

TEST(admin_golden, create_topics_v0_request_decodes_validate_only_as_its_default) {
  auto body = hex({0x00, 0x13, 0x00, 0x00,                   // CreateTopics v0
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0x00, 0x00, 0x00, 0x00,                   // topics: 0
                   0x00, 0x00, 0x03, 0xe8});                 // timeout_ms 1000
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  create_topics_request req;
  req.validate_only = true;
  ASSERT_TRUE(decode_request<create_topics_api>(body, *hdr, req));
  EXPECT_EQ(req.timeout_ms, 1000);
  EXPECT_TRUE(req.validate_only);  // untouched: the field is not in v0
  create_topics_request fresh;
  ASSERT_TRUE(decode_request<create_topics_api>(body, *hdr, fresh));
  EXPECT_FALSE(fresh.validate_only);  // Kafka's default
}

TEST(admin_golden, create_topics_v0_response) {
  create_topics_response resp;
  resp.topics.push_back({"t", 36, std::string()});  // 36: TOPIC_ALREADY_EXISTS
  check_response<create_topics_api>(0, resp,
                                    hex({0x00, 0x00, 0x00, 0x0d,  // size 13
                                         0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                         0x00, 0x00, 0x00, 0x01,  // topics: 1
                                         0x00, 0x01, 't',         //   name "t"
                                         0x00, 0x24}));           //   error_code 36
  // No error_message in v0: it decodes to Kafka's default for the field, "" (not null).
  byte_buffer body = body_of(encode_response<create_topics_api>(2, 0, resp));
  int32_t corr = 0;
  create_topics_response back;
  ASSERT_TRUE(decode_response<create_topics_api>(body, 0, corr, back));
  EXPECT_EQ(back.topics[0].error_message, std::optional<std::string>(""));
  EXPECT_EQ(back.throttle_time_ms, 0);
}

TEST(admin_golden, create_topics_v1_response_adds_error_message) {
  create_topics_response resp;
  resp.topics.push_back({"t", 36, "e"});
  resp.topics.push_back({"u", 0, std::nullopt});
  check_response<create_topics_api>(1, resp, hex({0x00, 0x00, 0x00, 0x17,  // size 23
                                                  0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                  0x00, 0x00, 0x00, 0x02,  // topics: 2
                                                  0x00, 0x01, 't',         //   name "t"
                                                  0x00, 0x24,              //   error_code 36
                                                  0x00, 0x01, 'e',         //   error_message "e"
                                                  0x00, 0x01, 'u',         //   name "u"
                                                  0x00, 0x00,              //   error_code 0
                                                  0xff, 0xff}));           //   error_message null
}

TEST(admin_golden, create_topics_v2_to_v4_responses_lead_with_throttle_time) {
  for (int16_t v = 2; v <= 4; ++v) {
    create_topics_response resp;
    resp.throttle_time_ms = 7;
    resp.topics.push_back({"t", 36, "e"});
    resp.topics.push_back({"u", 0, std::nullopt});
    check_response<create_topics_api>(v, resp, hex({0x00, 0x00, 0x00, 0x1b,  // size 27
                                                    0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                    0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                                    0x00, 0x00, 0x00, 0x02,  // topics: 2
                                                    0x00, 0x01, 't',         //   name "t"
                                                    0x00, 0x24,              //   error_code 36
                                                    0x00, 0x01, 'e',         //   error_message "e"
                                                    0x00, 0x01, 'u',         //   name "u"
                                                    0x00, 0x00,              //   error_code 0
                                                    0xff, 0xff}));           //   error_message null
  }
}

// ---- DeleteTopics (20 = 0x14) ----------------------------------------------------------------

TEST(admin_golden, delete_topics_v0_v1_requests) {
  for (int16_t v = 0; v <= 1; ++v) {
    delete_topics_request req;
    req.topic_names = {"t", "u"};
    req.timeout_ms = 5000;
    check_request<delete_topics_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x19,                   // size 25 = 11 header + 14 body
                     0x00, 0x14, 0x00, v,                      // DeleteTopics v0/v1
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x00, 0x00, 0x02,                   // topic_names: 2
                     0x00, 0x01, 't',                          //   "t"
                     0x00, 0x01, 'u',                          //   "u"
                     0x00, 0x00, 0x13, 0x88}));                // timeout_ms 5000
  }
}

TEST(admin_golden, delete_topics_v0_response) {
  delete_topics_response resp;
  resp.responses = {{"t", 0}, {"u", 3}};  // 3: UNKNOWN_TOPIC_OR_PARTITION
  check_response<delete_topics_api>(0, resp, hex({0x00, 0x00, 0x00, 0x12,  // size 18
                                                  0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                  0x00, 0x00, 0x00, 0x02,  // responses: 2
                                                  0x00, 0x01, 't',         //   name "t"
                                                  0x00, 0x00,              //   error_code 0
                                                  0x00, 0x01, 'u',         //   name "u"
                                                  0x00, 0x03}));           //   error_code 3
}

TEST(admin_golden, delete_topics_v1_response_adds_throttle_time) {
  delete_topics_response resp;
  resp.throttle_time_ms = 7;
  resp.responses = {{"t", 0}, {"u", 3}};
  check_response<delete_topics_api>(1, resp, hex({0x00, 0x00, 0x00, 0x16,  // size 22
                                                  0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                  0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                                  0x00, 0x00, 0x00, 0x02,  // responses: 2
                                                  0x00, 0x01, 't',         //   name "t"
                                                  0x00, 0x00,              //   error_code 0
                                                  0x00, 0x01, 'u',         //   name "u"
                                                  0x00, 0x03}));           //   error_code 3
}

// ---- DeleteRecords (21 = 0x15) ---------------------------------------------------------------

TEST(admin_golden, delete_records_v0_v1_requests) {
  for (int16_t v = 0; v <= 1; ++v) {
    delete_records_request req;
    req.topics.push_back({"t", {{0, 10}, {1, -1}}});  // -1: up to the high watermark
    req.timeout_ms = 1000;
    check_request<delete_records_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x32,                   // size 50 = 11 + 39 body
                     0x00, 0x15, 0x00, v,                      // DeleteRecords v0/v1
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client "k"
                     0x00, 0x00, 0x00, 0x01,                   // topics: 1
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x02,                   //   partitions: 2
                     0x00, 0x00, 0x00, 0x00,                   //     partition_index 0
                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,  //     offset 10
                     0x00, 0x00, 0x00, 0x01,                          //     partition_index 1
                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //     offset -1
                     0x00, 0x00, 0x03, 0xe8}));                       // timeout_ms 1000
  }
}

TEST(admin_golden, delete_records_v0_v1_responses) {
  for (int16_t v = 0; v <= 1; ++v) {
    delete_records_response resp;
    resp.throttle_time_ms = 7;
    resp.topics.push_back({"t", {{0, 10, 0}, {1, -1, 1}}});  // 1: OFFSET_OUT_OF_RANGE
    check_response<delete_records_api>(
        v, resp, hex({0x00, 0x00, 0x00, 0x2f,                          // size 47
                      0x00, 0x00, 0x00, 0x02,                          // correlation id 2
                      0x00, 0x00, 0x00, 0x07,                          // throttle_time_ms 7
                      0x00, 0x00, 0x00, 0x01,                          // topics: 1
                      0x00, 0x01, 't',                                 //   name "t"
                      0x00, 0x00, 0x00, 0x02,                          //   partitions: 2
                      0x00, 0x00, 0x00, 0x00,                          //     partition_index 0
                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,  //     low_watermark 10
                      0x00, 0x00,                                      //     error_code 0
                      0x00, 0x00, 0x00, 0x01,                          //     partition_index 1
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //     low_watermark -1
                      0x00, 0x01}));                                   //     error_code 1
  }
}

// ---- DescribeConfigs (32 = 0x20) -------------------------------------------------------------

TEST(admin_golden, describe_configs_v0_request) {
  describe_configs_request req;
  req.resources.push_back({2, "t", std::nullopt});                   // topic "t", every key
  req.resources.push_back({4, "0", std::vector<std::string>{"k"}});  // broker 0, key "k"
  check_request<describe_configs_api>(
      0, req, hex({0x00, 0x00, 0x00, 0x22,                   // size 34 = 11 header + 23 body
                   0x00, 0x20, 0x00, 0x00,                   // DescribeConfigs v0
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0x00, 0x00, 0x00, 0x02,                   // resources: 2
                   0x02,                                     //   resource_type 2 (topic)
                   0x00, 0x01, 't',                          //   resource_name "t"
                   0xff, 0xff, 0xff, 0xff,                   //   configuration_keys null
                   0x04,                                     //   resource_type 4 (broker)
                   0x00, 0x01, '0',                          //   resource_name "0"
                   0x00, 0x00, 0x00, 0x01,                   //   configuration_keys: 1
                   0x00, 0x01, 'k'}));                       //     "k"
}

TEST(admin_golden, describe_configs_v1_request_adds_include_synonyms) {
  describe_configs_request req;
  req.resources.push_back({2, "t", std::nullopt});
  req.resources.push_back({4, "0", std::vector<std::string>{"k"}});
  req.include_synonyms = true;
  check_request<describe_configs_api>(
      1, req, hex({0x00, 0x00, 0x00, 0x23,                   // size 35 = 11 header + 24 body
                   0x00, 0x20, 0x00, 0x01,                   // DescribeConfigs v1
                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                   0x00, 0x00, 0x00, 0x02,                   // resources: 2
                   0x02,                                     //   resource_type 2 (topic)
                   0x00, 0x01, 't',                          //   resource_name "t"
                   0xff, 0xff, 0xff, 0xff,                   //   configuration_keys null
                   0x04,                                     //   resource_type 4 (broker)
                   0x00, 0x01, '0',                          //   resource_name "0"
                   0x00, 0x00, 0x00, 0x01,                   //   configuration_keys: 1
                   0x00, 0x01, 'k',                          //     "k"
                   0x01}));                                  // include_synonyms true
}

TEST(admin_golden, describe_configs_v0_response_has_is_default) {
  describe_configs_response resp;
  describe_configs_response::describe_configs_resource_result config;
  config.name = "k";
  config.value = "v";
  config.is_default = true;
  resp.results.push_back({0, std::nullopt, 2, "t", {config}});
  check_response<describe_configs_api>(0, resp, hex({0x00, 0x00, 0x00, 0x21,  // size 33
                                                     0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                     0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
                                                     0x00, 0x00, 0x00, 0x01,  // results: 1
                                                     0x00, 0x00,              //   error_code 0
                                                     0xff, 0xff,       //   error_message null
                                                     0x02,             //   resource_type 2
                                                     0x00, 0x01, 't',  //   resource_name "t"
                                                     0x00, 0x00, 0x00, 0x01,  //   configs: 1
                                                     0x00, 0x01, 'k',         //     name "k"
                                                     0x00, 0x01, 'v',         //     value "v"
                                                     0x00,                    //     read_only false
                                                     0x01,                    //     is_default true
                                                     0x00}));  //     is_sensitive false
  // v1+ fields keep their defaults when a v0 response is decoded.
  byte_buffer body = body_of(encode_response<describe_configs_api>(2, 0, resp));
  int32_t corr = 0;
  describe_configs_response back;
  ASSERT_TRUE(decode_response<describe_configs_api>(body, 0, corr, back));
  EXPECT_EQ(back.results[0].configs[0].config_source, -1);
  EXPECT_TRUE(back.results[0].configs[0].synonyms.empty());
}

TEST(admin_golden, describe_configs_v1_response_has_config_source_and_synonyms) {
  describe_configs_response resp;
  describe_configs_response::describe_configs_resource_result k;
  k.name = "k";
  k.value = "v";
  k.config_source = 1;  // topic config
  k.synonyms.push_back({"k", "v", 1});
  describe_configs_response::describe_configs_resource_result p;
  p.name = "p";
  p.value = std::nullopt;  // sensitive: no value
  p.read_only = true;
  p.config_source = 5;  // default config
  p.is_sensitive = true;
  resp.results.push_back({0, std::nullopt, 2, "t", {k, p}});
  check_response<describe_configs_api>(1, resp, hex({0x00, 0x00, 0x00, 0x38,  // size 56
                                                     0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                     0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
                                                     0x00, 0x00, 0x00, 0x01,  // results: 1
                                                     0x00, 0x00,              //   error_code 0
                                                     0xff, 0xff,       //   error_message null
                                                     0x02,             //   resource_type 2
                                                     0x00, 0x01, 't',  //   resource_name "t"
                                                     0x00, 0x00, 0x00, 0x02,  //   configs: 2
                                                     0x00, 0x01, 'k',         //     name "k"
                                                     0x00, 0x01, 'v',         //     value "v"
                                                     0x00,                    //     read_only false
                                                     0x01,                    //     config_source 1
                                                     0x00,  //     is_sensitive false
                                                     0x00, 0x00, 0x00, 0x01,  //     synonyms: 1
                                                     0x00, 0x01, 'k',         //       name "k"
                                                     0x00, 0x01, 'v',         //       value "v"
                                                     0x01,                    //       source 1
                                                     0x00, 0x01, 'p',         //     name "p"
                                                     0xff, 0xff,              //     value null
                                                     0x01,                    //     read_only true
                                                     0x05,                    //     config_source 5
                                                     0x01,  //     is_sensitive true
                                                     0x00, 0x00, 0x00, 0x00}));  //  synonyms: 0
  // is_default exists only in v0: a v1 response decodes it as the default, false.
  byte_buffer body = body_of(encode_response<describe_configs_api>(2, 1, resp));
  int32_t corr = 0;
  describe_configs_response back;
  ASSERT_TRUE(decode_response<describe_configs_api>(body, 1, corr, back));
  EXPECT_FALSE(back.results[0].configs[1].is_default);
}

// ---- AlterConfigs (33 = 0x21) ----------------------------------------------------------------

TEST(admin_golden, alter_configs_v0_v1_requests) {
  for (int16_t v = 0; v <= 1; ++v) {
    alter_configs_request req;
    req.resources.push_back({2, "t", {{"k", "v"}, {"n", std::nullopt}}});
    req.validate_only = v == 1;
    check_request<alter_configs_api>(v, req,
                                     hex({0x00,
                                          0x00,
                                          0x00,
                                          0x23,  // size 35 = 11 header + 24 body
                                          0x00,
                                          0x21,
                                          0x00,
                                          v,  // AlterConfigs v0/v1
                                          0x00,
                                          0x00,
                                          0x00,
                                          0x01,
                                          0x00,
                                          0x01,
                                          'k',  // correlation id 1, client id "k"
                                          0x00,
                                          0x00,
                                          0x00,
                                          0x01,  // resources: 1
                                          0x02,  //   resource_type 2 (topic)
                                          0x00,
                                          0x01,
                                          't',  //   resource_name "t"
                                          0x00,
                                          0x00,
                                          0x00,
                                          0x02,  //   configs: 2
                                          0x00,
                                          0x01,
                                          'k',  //     name "k"
                                          0x00,
                                          0x01,
                                          'v',  //     value "v"
                                          0x00,
                                          0x01,
                                          'n',  //     name "n"
                                          0xff,
                                          0xff,                     //     value null
                                          v == 1 ? 0x01 : 0x00}));  // validate_only (true in v1)
  }
}

TEST(admin_golden, alter_configs_v0_v1_responses) {
  for (int16_t v = 0; v <= 1; ++v) {
    alter_configs_response resp;
    resp.throttle_time_ms = 7;
    resp.responses.push_back({0, std::nullopt, 2, "t"});
    resp.responses.push_back({40, "e", 4, "0"});                             // 40: INVALID_CONFIG
    check_response<alter_configs_api>(v, resp, hex({0x00, 0x00, 0x00, 0x1d,  // size 29
                                                    0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                                    0x00, 0x00, 0x00, 0x07,  // throttle_time_ms 7
                                                    0x00, 0x00, 0x00, 0x02,  // responses: 2
                                                    0x00, 0x00,              //   error_code 0
                                                    0xff, 0xff,              //   error_message null
                                                    0x02,                    //   resource_type 2
                                                    0x00, 0x01, 't',         //   resource_name "t"
                                                    0x00, 0x28,              //   error_code 40
                                                    0x00, 0x01, 'e',         //   error_message "e"
                                                    0x04,                    //   resource_type 4
                                                    0x00, 0x01, '0'}));      //   resource_name "0"
  }
}

// ---- CreatePartitions (37 = 0x25) ------------------------------------------------------------

TEST(admin_golden, create_partitions_v0_v1_requests) {
  for (int16_t v = 0; v <= 1; ++v) {
    create_partitions_request req;
    using assignment = create_partitions_request::create_partitions_assignment;
    req.topics.push_back({"t", 3, std::vector<assignment>{{{1}}, {{1}}}});
    req.topics.push_back({"u", 2, std::nullopt});
    req.timeout_ms = 5000;
    check_request<create_partitions_api>(
        v, req, hex({0x00, 0x00, 0x00, 0x3a,                   // size 58 = 11 header + 47 body
                     0x00, 0x25, 0x00, v,                      // CreatePartitions v0/v1
                     0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',  // correlation id 1, client id "k"
                     0x00, 0x00, 0x00, 0x02,                   // topics: 2
                     0x00, 0x01, 't',                          //   name "t"
                     0x00, 0x00, 0x00, 0x03,                   //   count 3
                     0x00, 0x00, 0x00, 0x02,                   //   assignments: 2 (one per new one)
                     0x00, 0x00, 0x00, 0x01,                   //     broker_ids: 1
                     0x00, 0x00, 0x00, 0x01,                   //       broker 1
                     0x00, 0x00, 0x00, 0x01,                   //     broker_ids: 1
                     0x00, 0x00, 0x00, 0x01,                   //       broker 1
                     0x00, 0x01, 'u',                          //   name "u"
                     0x00, 0x00, 0x00, 0x02,                   //   count 2
                     0xff, 0xff, 0xff, 0xff,                   //   assignments null
                     0x00, 0x00, 0x13, 0x88,                   // timeout_ms 5000
                     0x00}));                                  // validate_only false
  }
}

TEST(admin_golden, create_partitions_v0_v1_responses) {
  for (int16_t v = 0; v <= 1; ++v) {
    create_partitions_response resp;
    resp.results.push_back({"t", 0, std::nullopt});
    resp.results.push_back({"u", 37, "e"});  // 37: INVALID_PARTITIONS
    check_response<create_partitions_api>(v, resp,
                                          hex({0x00, 0x00, 0x00, 0x1b,  // size 27
                                               0x00, 0x00, 0x00, 0x02,  // correlation id 2
                                               0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
                                               0x00, 0x00, 0x00, 0x02,  // results: 2
                                               0x00, 0x01, 't',         //   name "t"
                                               0x00, 0x00,              //   error_code 0
                                               0xff, 0xff,              //   error_message null
                                               0x00, 0x01, 'u',         //   name "u"
                                               0x00, 0x25,              //   error_code 37
                                               0x00, 0x01, 'e'}));      //   error_message "e"
  }
}

// ---- The registry ----------------------------------------------------------------------------

TEST(admin_golden, api_versions_table_advertises_the_admin_apis) {
  struct range {
    int16_t key, min, max;
  };
  const range want[] = {{19, 0, 4}, {20, 0, 1}, {21, 0, 1}, {32, 0, 1}, {33, 0, 1}, {37, 0, 1}};
  auto table = supported_api_versions();
  for (auto& w : want) {
    SCOPED_TRACE("api key " + std::to_string(w.key));
    int found = 0;
    for (auto& e : table) {
      if (e.api_key != w.key) continue;
      ++found;
      EXPECT_EQ(e.min_version, w.min);
      EXPECT_EQ(e.max_version, w.max);
    }
    EXPECT_EQ(found, 1);
  }
  EXPECT_STREQ(api_name(api_key::create_topics), "CreateTopics");
  EXPECT_STREQ(api_name(api_key::describe_configs), "DescribeConfigs");
}

// ---- Round trip over api_list ----------------------------------------------------------------

TEST(admin_round_trip, every_api_and_advertised_version_round_trips_non_default_values) {
  int checked = 0;
  for_each_api([&]<class A>() {
    for (int16_t v = A::min_version; v <= A::max_version; ++v) {
      SCOPED_TRACE(std::string(A::name) + " v" + std::to_string(v));
      typename A::request req;
      filler(v).fill(req);
      auto frame = encode_request<A>(v, 42, std::string("rt"), req);
      auto body = body_of(frame);
      auto hdr = parse_request_header(body);
      ASSERT_TRUE(hdr);
      typename A::request back;
      auto st = decode_request<A>(body, *hdr, back);
      ASSERT_TRUE(st) << st.error().message();
      EXPECT_EQ(to_text(back), to_text(req));
      // The filler really changed something (ApiVersions v0-v2 and ListGroups v0-v3 requests
      // have no fields).
      typename A::request defaults;
      bool has_fields =
          !(A::key == api_key::api_versions && v < 3) && !(A::key == api_key::list_groups && v < 4);
      if (has_fields) {
        EXPECT_NE(to_text(defaults), to_text(req));
      }

      typename A::response resp;
      filler(v).fill(resp);
      auto rframe = encode_response<A>(43, v, resp);
      auto rbody = body_of(rframe);
      int32_t corr = 0;
      typename A::response rback;
      auto rst = decode_response<A>(rbody, v, corr, rback);
      ASSERT_TRUE(rst) << rst.error().message();
      EXPECT_EQ(corr, 43);
      EXPECT_EQ(to_text(rback), to_text(resp));
      ++checked;
    }
  });
  EXPECT_GE(checked, 20);
}

TEST(admin_round_trip, default_messages_round_trip_in_every_advertised_version) {
  for_each_api([&]<class A>() {
    for (int16_t v = A::min_version; v <= A::max_version; ++v) {
      SCOPED_TRACE(std::string(A::name) + " v" + std::to_string(v));
      typename A::request req;
      auto body = body_of(encode_request<A>(v, 1, std::nullopt, req));
      auto hdr = parse_request_header(body);
      ASSERT_TRUE(hdr);
      typename A::request back;
      ASSERT_TRUE(decode_request<A>(body, *hdr, back));
      EXPECT_EQ(to_text(back), to_text(req));
    }
  });
}

}  // namespace
}  // namespace spate::kafka
