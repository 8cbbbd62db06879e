// Golden bytes: each case is written out by hand from the protocol's field layouts, then
// checked in both directions (our encoder produces exactly these bytes; our decoder reads
// them back to the same values).
#include <gtest/gtest.h>

#include "kafka/protocol/registry.h"

namespace spate::kafka {
namespace {

byte_buffer hex(std::initializer_list<int> bytes) {
  byte_buffer out;
  for (int b : bytes) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// The frame minus its size prefix, for decoding.
byte_buffer body_of(const byte_buffer& frame) {
  return byte_buffer(frame.begin() + 4, frame.end());
}

TEST(golden, api_versions_v3_request_as_librdkafka_sends_it) {
  api_versions_request req;
  req.client_software_name = "librdkafka";
  req.client_software_version = "2.0.2";
  auto frame = encode_request<api_versions_api>(3, 1, std::string("rdkafka"), req);
  auto expected = hex({0x00, 0x00, 0x00, 0x24,                           // size 36
                       0x00, 0x12, 0x00, 0x03,                           // key 18, v3
                       0x00, 0x00, 0x00, 0x01,                           // correlation id
                       0x00, 0x07, 'r',  'd',  'k', 'a', 'f', 'k', 'a',  // client id (int16)
                       0x00,                                             // header tags
                       0x0b, 'l',  'i',  'b',  'r', 'd', 'k', 'a', 'f', 'k', 'a',  // compact
                       0x06, '2',  '.',  '0',  '.', '2',                           // compact
                       0x00});                                                     // body tags
  EXPECT_EQ(frame, expected);
  auto body = body_of(frame);
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  EXPECT_EQ(hdr->key, api_key::api_versions);
  EXPECT_EQ(hdr->version, 3);
  EXPECT_EQ(*hdr->client_id, "rdkafka");
  api_versions_request back;
  ASSERT_TRUE(decode_request<api_versions_api>(body, *hdr, back));
  EXPECT_EQ(back.client_software_name, "librdkafka");
  EXPECT_EQ(back.client_software_version, "2.0.2");
}

TEST(golden, api_versions_v3_response_has_no_header_tags) {
  api_versions_response resp;
  resp.api_keys = {{0, 0, 7}};
  auto frame = encode_response<api_versions_api>(9, 3, resp);
  auto expected = hex({0x00, 0x00, 0x00, 0x13,  // size 19
                       0x00, 0x00, 0x00, 0x09,  // correlation id; no tag byte (header v0)
                       0x00, 0x00,              // error code
                       0x02,                    // compact array of 1
                       0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00,  // key 0, 0..7, tags
                       0x00, 0x00, 0x00, 0x00,                    // throttle
                       0x00});                                    // tags
  EXPECT_EQ(frame, expected);
  auto body = body_of(frame);
  int32_t corr = 0;
  api_versions_response back;
  ASSERT_TRUE(decode_response<api_versions_api>(body, 3, corr, back));
  EXPECT_EQ(corr, 9);
  ASSERT_EQ(back.api_keys.size(), 1u);
  EXPECT_EQ(back.api_keys[0].max_version, 7);
}

TEST(golden, metadata_v0_request_all_topics_and_v1_null) {
  metadata_request req;
  req.topics.emplace();  // v0: empty array = all topics
  auto v0 = encode_request<metadata_api>(0, 2, std::nullopt, req);
  EXPECT_EQ(v0, hex({0, 0, 0, 14, 0, 3, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0}));
  metadata_request all;  // v1+: null = all topics
  auto v1 = encode_request<metadata_api>(1, 2, std::nullopt, all);
  EXPECT_EQ(v1, hex({0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  auto body = body_of(v1);
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  metadata_request back;
  back.topics.emplace();
  ASSERT_TRUE(decode_request<metadata_api>(body, *hdr, back));
  EXPECT_FALSE(back.topics.has_value());
  EXPECT_TRUE(back.allow_auto_topic_creation);  // absent before v4: the default
}

TEST(golden, produce_v3_request_keeps_records_as_a_view) {
  produce_request req;
  req.acks = -1;
  req.timeout_ms = 1000;
  byte_buffer batch = hex({1, 2, 3});
  req.topic_data.push_back({"t", {{0, records{mutable_bytes(batch), std::nullopt}}}});
  auto frame = encode_request<produce_api>(3, 7, std::nullopt, req);
  auto expected = hex({0,    0,    0,    0x28, 0, 0, 0,   3, 0, 0, 0, 7, 0xff, 0xff,  // header
                       0xff, 0xff,                                                    // null txn id
                       0xff, 0xff,                                                    // acks -1
                       0,    0,    0x03, 0xe8,                                        // timeout
                       0,    0,    0,    1,    0, 1, 't',                             // [topic "t"
                       0,    0,    0,    1,    0, 0, 0,   0,  //  [partition 0
                       0,    0,    0,    3,    1, 2, 3});     //   records]]
  EXPECT_EQ(frame, expected);
  auto body = body_of(frame);
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  produce_request back;
  ASSERT_TRUE(decode_request<produce_api>(body, *hdr, back));
  ASSERT_EQ(back.topic_data.size(), 1u);
  auto& records = back.topic_data[0].partition_data[0].records;
  ASSERT_TRUE(records.view);
  // A view into the frame itself: no copy.
  EXPECT_EQ(records.view->data(), body.data() + body.size() - 3);
}

TEST(golden, produce_v7_response_fields_by_version) {
  produce_response resp;
  produce_response::partition_response p;
  p.index = 0;
  p.base_offset = 42;
  p.log_start_offset = 0;
  resp.responses.push_back({"t", {p}});
  auto frame = encode_response<produce_api>(5, 7, resp);
  auto expected =
      hex({0,    0,    0,    0x31, 0,    0,    0,    5,           // size, correlation id
           0,    0,    0,    1,    0,    1,    't',               // [topic "t"
           0,    0,    0,    1,    0,    0,    0,    0,    0, 0,  //  [partition 0, error 0
           0,    0,    0,    0,    0,    0,    0,    42,          //   base offset
           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,        // log append time -1
           0,    0,    0,    0,    0,    0,    0,    0,           //   log start offset]]
           0,    0,    0,    0});                                 // throttle
  EXPECT_EQ(frame, expected);
}

TEST(golden, fetch_v4_request_decodes_with_defaults_for_later_fields) {
  auto frame =
      hex({0,    1,    0,    4,    0, 0, 0,   3, 0xff, 0xff,  // header: Fetch v4, null client
           0xff, 0xff, 0xff, 0xff,                            // replica -1
           0,    0,    0x01, 0xf4,                            // max wait 500
           0,    0,    0,    1,                               // min bytes
           0,    0x10, 0,    0,                               // max bytes 1 MiB
           0,                                                 // isolation
           0,    0,    0,    1,    0, 1, 't',                 // [topic "t"
           0,    0,    0,    1,    0, 0, 0,   2,              //  [partition 2
           0,    0,    0,    0,    0, 0, 0,   9,              //   offset 9
           0,    0,    0x10, 0});                             //   max bytes 4096]]
  auto hdr = parse_request_header(frame);
  ASSERT_TRUE(hdr);
  fetch_request req;
  ASSERT_TRUE(decode_request<fetch_api>(frame, *hdr, req));
  EXPECT_EQ(req.max_wait_ms, 500);
  EXPECT_EQ(req.max_bytes, 1 << 20);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].partitions[0].partition, 2);
  EXPECT_EQ(req.topics[0].partitions[0].fetch_offset, 9);
  EXPECT_EQ(req.topics[0].partitions[0].log_start_offset, -1);  // v5+ field: default
  EXPECT_EQ(req.session_epoch, -1);
}

TEST(golden, truncated_and_trailing_bodies_are_rejected) {
  auto frame = hex({0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 1, 0, 5, 'a'});
  auto hdr = parse_request_header(frame);
  ASSERT_TRUE(hdr);
  metadata_request req;
  auto st = decode_request<metadata_api>(frame, *hdr, req);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("Metadata v1"), std::string::npos);
  auto trailing = hex({0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00});
  auto hdr2 = parse_request_header(trailing);
  ASSERT_TRUE(hdr2);
  EXPECT_FALSE(decode_request<metadata_api>(trailing, *hdr2, req));
}

// External records: the frame is the encoded bytes with each external run spliced in where
// the encoder noted, and equals the frame of the same response with the bytes owned.
struct fake_external final : external_bytes {
  explicit fake_external(byte_buffer b) : data(std::move(b)) {}
  uint64_t size() const override { return data.size(); }
  byte_buffer data;
};

byte_buffer assemble(const response_frame& f) {
  byte_buffer out;
  size_t from = 0;
  for (const auto& sp : f.splices) {
    out.insert(out.end(), f.encoded.begin() + static_cast<ptrdiff_t>(from),
               f.encoded.begin() + static_cast<ptrdiff_t>(sp.at));
    const auto& e = static_cast<const fake_external&>(*sp.bytes);
    out.insert(out.end(), e.data.begin(), e.data.end());
    from = sp.at;
  }
  out.insert(out.end(), f.encoded.begin() + static_cast<ptrdiff_t>(from), f.encoded.end());
  return out;
}

TEST(golden, external_records_are_spliced_not_copied) {
  for (int16_t version : {4, 11}) {
    fetch_response owned;
    auto& t = owned.responses.emplace_back();
    t.topic = "t";
    for (int32_t p = 0; p < 3; ++p) {
      auto& pd = t.partitions.emplace_back();
      pd.partition_index = p;
      pd.aborted_transactions.emplace();
      pd.records.owned = byte_buffer(static_cast<size_t>(p * 100 + 1), static_cast<uint8_t>(p));
    }
    fetch_response external = owned;
    for (auto& pd : external.responses[0].partitions) {
      pd.records.external = std::make_shared<fake_external>(*pd.records.owned);
      pd.records.owned.reset();
    }
    auto f = encode_response_frame<fetch_api>(7, version, external);
    ASSERT_EQ(f.splices.size(), 3u);
    EXPECT_EQ(f.size(), f.encoded.size() + 1 + 101 + 201);
    EXPECT_EQ(assemble(f), encode_response<fetch_api>(7, version, owned));
  }
}

TEST(golden, api_versions_table_comes_from_the_registry) {
  auto table = supported_api_versions();
  ASSERT_FALSE(table.empty());
  bool has_produce_from_zero = false;
  for (auto& e : table) {
    if (e.api_key == 0) has_produce_from_zero = e.min_version == 0 && e.max_version == 7;
  }
  EXPECT_TRUE(has_produce_from_zero);
  EXPECT_STREQ(api_name(api_key::fetch), "Fetch");
  EXPECT_EQ(api_name(api_key::sasl_handshake), nullptr);
}

}  // namespace
}  // namespace spate::kafka
