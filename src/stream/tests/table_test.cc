// Tables from compacted topics and the stream-table join.
#include <gtest/gtest.h>

#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;

struct user {
  std::string name;
  std::string country;
};
void to_json(nlohmann::json& j, const user& u) {
  j = nlohmann::json{{"name", u.name}, {"country", u.country}};
}
void from_json(const nlohmann::json& j, user& u) {
  j.at("name").get_to(u.name);
  j.at("country").get_to(u.country);
}

topology enrich_pipeline() {
  topology_builder b;
  auto users = b.table_of("users", json_serde<user>(), {.name = "users"});
  auto orders = b.source("orders", json_serde<order>()).key_by(&order::user_id);
  orders
      .join(users,
            [](const order& o, const user& u) {
              return u.name + "/" + u.country + ":" + std::to_string(o.amount);
            })
      .to("enriched", string_serde());
  orders
      .left_join(users,
                 [](const order& o, const std::optional<user>& u) {
                   return (u ? u->name : std::string("?")) + ":" + std::to_string(o.amount);
                 })
      .to("all", string_serde());
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  return std::move(*t);
}

std::vector<std::string> values(test_driver& d, const std::string& topic) {
  std::vector<std::string> out;
  for (auto& r : d.read_raw(topic)) out.push_back(r.value.value_or("null"));
  return out;
}

TEST(table, stream_joins_the_latest_value_per_key) {
  auto d = test_driver::create(enrich_pipeline());
  ASSERT_TRUE(d);
  auto us = json_serde<user>();
  auto os = json_serde<order>();
  ASSERT_TRUE(d->pipe("users", user{"Ann", "NZ"}, us, timestamp_ms(1), partition_id(0), "u1"));
  ASSERT_TRUE(d->pipe("orders", order{"u1", 5}, os, timestamp_ms(2)));
  ASSERT_TRUE(d->pipe("orders", order{"u2", 6}, os, timestamp_ms(3)));
  ASSERT_TRUE(d->pipe("users", user{"Ann", "FR"}, us, timestamp_ms(4), partition_id(0), "u1"));
  ASSERT_TRUE(d->pipe("orders", order{"u1", 7}, os, timestamp_ms(5)));
  ASSERT_TRUE(d->pipe_raw("users", "u1", std::nullopt, timestamp_ms(6)));  // deleted
  ASSERT_TRUE(d->pipe("orders", order{"u1", 8}, os, timestamp_ms(7)));
  EXPECT_EQ(values(*d, "enriched"), (std::vector<std::string>{"Ann/NZ:5", "Ann/FR:7"}));
  EXPECT_EQ(values(*d, "all"), (std::vector<std::string>{"Ann:5", "?:6", "Ann:7", "?:8"}));
  EXPECT_TRUE(d->state("users").empty());
}

TEST(table, restores_from_the_captured_changes) {
  auto first = test_driver::create(enrich_pipeline());
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->pipe("users", user{"Bo", "SE"}, json_serde<user>(), timestamp_ms(1),
                          partition_id(0), "u9"));
  auto changes = first->get_engine().checkpoint().state_changes;
  auto second = test_driver::create(enrich_pipeline(), changes);
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->pipe("orders", order{"u9", 1}, json_serde<order>(), timestamp_ms(2)));
  EXPECT_EQ(values(*second, "enriched"), (std::vector<std::string>{"Bo/SE:1"}));
}

TEST(table, bad_table_records_go_through_the_error_policy) {
  auto d = test_driver::create(enrich_pipeline());
  ASSERT_TRUE(d);
  auto bad = d->pipe_raw("users", "u1", "{\"name\":3}", timestamp_ms(1));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::deserialization_failed);
  auto keyless = d->pipe_raw("users", std::nullopt, "{}", timestamp_ms(1));
  ASSERT_FALSE(keyless);
  EXPECT_NE(keyless.error().detail.find("without a key"), std::string::npos);
  EXPECT_TRUE(d->state("users").empty());
}

TEST(table, does_not_hold_back_the_stream_watermark) {
  topology_builder b;
  auto users = b.table_of("users", json_serde<user>());
  b.source("orders", json_serde<order>())
      .key_by(&order::user_id)
      .left_join(users, [](const order& o, const std::optional<user>&) { return o; })
      .key_by(&order::user_id)
      .window(tumbling(duration(10)))
      .count()
      .to("counts");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("orders", order{"u", 1}, json_serde<order>(), timestamp_ms(1)));
  ASSERT_TRUE(d->pipe("orders", order{"u", 1}, json_serde<order>(), timestamp_ms(20)));
  EXPECT_EQ(d->read_raw("counts").size(), 1u) << "no table record came, the window fired anyway";
}

}  // namespace
}  // namespace spate::stream
