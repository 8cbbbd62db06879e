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

// A type without a default serde: key_by cannot write it to a repartition topic unless given
// a value serde, which create() finds out before connecting.
struct opaque {
  std::string user;
};

TEST(application, create_refuses_a_key_by_that_cannot_repartition) {
  auto without = application::create(
      [] {
        topology_builder b;
        b.source<std::string>("in")
            .map([](const std::string& s) { return opaque{s}; })
            .key_by([](const opaque& o) { return o.user; })
            .as_stream()
            .map([](const opaque& o) { return o.user; })
            .to("out");
        return b.build();
      },
      {.application_id = "a"});
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().code, errc::invalid_topology);
  EXPECT_NE(without.error().message().find("value serde"), std::string::npos)
      << without.error().message();

  auto with = application::create(
      [] {
        topology_builder b;
        b.source<std::string>("in")
            .map([](const std::string& s) { return opaque{s}; })
            .key_by(
                [](const opaque& o) { return o.user; }, default_serde<std::string>(), "by-user",
                custom_serde<opaque>(
                    "opaque", [](const opaque& o) { return o.user; },
                    [](std::string_view s) -> result<opaque> { return opaque{std::string(s)}; }))
            .as_stream()
            .map([](const opaque& o) { return o.user; })
            .to("out");
        return b.build();
      },
      {.application_id = "a"});
  EXPECT_TRUE(with) << with.error().message();
}

TEST(application, refuses_a_source_named_like_a_repartition_topic) {
  auto clash = application::create(
      [] {
        topology_builder b;
        b.source<std::string>("a-k-repartition")
            .key_by([](const std::string& s) { return s; }, default_serde<std::string>(), "k")
            .as_stream()
            .to("out");
        return b.build();
      },
      {.application_id = "a"});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, errc::invalid_topology);
}

}  // namespace
}  // namespace spate::stream
