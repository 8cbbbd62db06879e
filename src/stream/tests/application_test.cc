// The Kafka runtime's parts that need no broker; tests/integration/test_stream_app.py runs it
// against the broker binary.
#include "spate/stream/application.h"

#include <gtest/gtest.h>

#include "spate/stream/errc.h"

namespace spate::stream {
namespace {

TEST(application, changelog_topic_is_named_after_the_application) {
  EXPECT_EQ(application::changelog_topic("order-totals"), "order-totals-changelog");
}

TEST(application, create_checks_its_inputs) {
  auto factory = [] {
    topology_builder b;
    b.source<std::string>("in").to("out");
    return b.build();
  };
  auto no_id = application::create(factory, {});
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, errc::invalid_argument);

  auto no_factory = application::create({}, {.application_id = "a"});
  ASSERT_FALSE(no_factory);

  auto bad = application::create(
      [] {
        topology_builder b;
        auto s = b.source<std::string>("in");
        s.to("out", default_serde<std::string>(), "x");
        s.to("out2", default_serde<std::string>(), "x");  // two steps named "x"
        return b.build();
      },
      {.application_id = "a"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_topology);

  EXPECT_TRUE(application::create(factory, {.application_id = "a"}));
}

}  // namespace
}  // namespace spate::stream
