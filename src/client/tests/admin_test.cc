// admin against librdkafka's mock cluster. The mock implements Metadata but not the admin
// APIs (librdkafka 2.0 waits for a controller it never finds), so here only the metadata side
// and the bounded wait are tested; the admin APIs themselves against the Spate broker in
// tests/cli.
#include "client/admin.h"

#include <gtest/gtest.h>

#include <chrono>

#include "client/errc.h"
#include "mock_cluster.h"

namespace spate::client {
namespace {

using testing::mock_cluster;

TEST(client_admin, lists_and_describes_topics_from_metadata) {
  mock_cluster mc(3);
  mc.create_topic("b", 3);
  mc.create_topic("a", 1);
  auto a = admin::connect(mc.config());
  ASSERT_TRUE(a) << a.error().message();

  auto names = a->list_topics();
  ASSERT_TRUE(names) << names.error().message();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));

  auto t = a->describe_topic("b");
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(t->partitions.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t->partitions[i].id, partition_id(i));
    EXPECT_GE(t->partitions[i].leader, 1);
    EXPECT_FALSE(t->partitions[i].replicas.empty());
    EXPECT_FALSE(t->partitions[i].error);
  }

  auto missing = a->describe_topic("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::unknown_topic));
  // Describing did not create it.
  EXPECT_EQ(a->list_topics()->size(), 2u);

  auto info = a->describe_cluster();
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->brokers.size(), 3u);
  EXPECT_NE(info->find("a"), nullptr);
}

TEST(client_admin, describe_cluster_with_its_own_client) {
  mock_cluster mc(1);
  auto info = describe_cluster(mc.config(), metadata_scope::brokers_only);
  ASSERT_TRUE(info) << info.error().message();
  ASSERT_EQ(info->brokers.size(), 1u);
  EXPECT_EQ(info->brokers[0].host, "127.0.0.1");
  EXPECT_TRUE(info->topics.empty());
}

TEST(client_admin, a_request_the_broker_cannot_serve_times_out_in_time) {
  mock_cluster mc;  // answers Metadata, never CreateTopics
  auto cfg = mc.config();
  cfg.timeout = std::chrono::milliseconds(1000);
  auto a = admin::connect(cfg);
  ASSERT_TRUE(a) << a.error().message();
  auto start = std::chrono::steady_clock::now();
  auto st = a->create_topic({.name = "x", .partitions = 2});
  ASSERT_FALSE(st);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(st.error().code, make_error_code(errc::timed_out)) << st.error().message();
  EXPECT_TRUE(is_retriable(st.error()));
  EXPECT_NE(st.error().message().find("create topic 'x': no answer within 1000 ms"),
            std::string::npos)
      << st.error().message();
}

TEST(client_admin, invalid_requests_are_refused_locally) {
  mock_cluster mc;
  auto a = admin::connect(mc.config());
  ASSERT_TRUE(a);
  auto st = a->create_partitions("t", 0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, make_error_code(errc::invalid_argument));
  auto nt = a->create_topic({.name = "t", .partitions = 0});
  ASSERT_FALSE(nt);
  EXPECT_EQ(nt.error().code, make_error_code(errc::invalid_argument)) << nt.error().message();
}

}  // namespace
}  // namespace spate::client
