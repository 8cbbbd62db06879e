// The example pipeline through the test driver: totals per user and window, an update for a
// late-but-allowed order, a too-late order on the late topic, a bad record on the DLQ.
#include "order_totals.h"

#include <gtest/gtest.h>

#include <map>

namespace {

using namespace spate::stream;
using namespace std::chrono_literals;
using order_totals::order;
using order_totals::total;

constexpr int64_t min5 = 5 * 60'000;

TEST(order_totals, totals_per_user_per_five_minutes) {
  auto t = order_totals::build();
  ASSERT_TRUE(t) << t.error().message();
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  auto s = json_serde<order>();
  // user -> (window start -> expected total), computed from the same inputs.
  std::vector<std::pair<order, int64_t>> in = {
      {{"o1", "u1", 500}, 1'000},         {{"o2", "u2", 300}, 2'000},
      {{"o3", "u1", 250}, min5 - 1},      {{"o4", "u1", 100}, min5},
      {{"o5", "u2", 700}, min5 + 30'000}, {{"o6", "u1", 50}, 2 * min5 + 1},
  };
  std::map<std::pair<std::string, int64_t>, int64_t> want;
  for (auto& [o, ts] : in) {
    ASSERT_TRUE(d->pipe(order_totals::orders_topic, o, s, spate::timestamp_ms(ts)));
    want[{o.user_id, ts - ts % min5}] += o.amount;
  }
  ASSERT_TRUE(d->end_of_input());
  auto out = d->read(order_totals::totals_topic, json_serde<total>());
  ASSERT_TRUE(out) << out.error().message();
  std::map<std::pair<std::string, int64_t>, int64_t> got;
  for (auto& r : *out) {
    EXPECT_EQ(r.key, r.value.key);
    EXPECT_EQ(r.value.window.end.value - r.value.window.start.value, min5);
    got[{r.value.key, r.value.window.start.value}] = r.value.value;
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(out->size(), want.size()) << "one result per window without late data";
}

TEST(order_totals, late_updates_too_late_and_dead_letters) {
  auto t = order_totals::build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  auto s = json_serde<order>();
  auto pipe = [&](order o, int64_t ts) {
    ASSERT_TRUE(d->pipe(order_totals::orders_topic, o, s, spate::timestamp_ms(ts)));
  };
  pipe({"a", "u1", 100}, 1'000);
  // Watermark = 5 min + 10 s + 1 - 10 s - 1: the first window fires.
  pipe({"b", "u1", 1}, min5 + 10'001);
  auto first = d->read(order_totals::totals_topic, json_serde<total>());
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].value.value, 100);
  // Within the minute of allowed lateness: an updated total at once.
  pipe({"c", "u1", 20}, 2'000);
  auto update = d->read(order_totals::totals_topic, json_serde<total>());
  ASSERT_TRUE(update);
  ASSERT_EQ(update->size(), 1u);
  EXPECT_EQ((*update)[0].value.value, 120);
  // Move the watermark past end + 1 min: the window is gone, a record for it is late.
  pipe({"d", "u1", 1}, min5 + 80'000);
  pipe({"e", "u1", 7}, 3'000);
  auto late = d->read(order_totals::late_topic, json_serde<order>());
  ASSERT_TRUE(late);
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].value.order_id, "e");
  // Not an order: to the dead-letter topic, with the reason.
  ASSERT_TRUE(d->pipe_raw(order_totals::orders_topic, "k", "{not json", spate::timestamp_ms(1)));
  auto dlq = d->read_raw(order_totals::dead_letter_topic);
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].value, "{not json");
  ASSERT_EQ(dlq[0].headers.size(), 1u);
  EXPECT_EQ(dlq[0].headers[0].key, "spate.error");
  EXPECT_NE(dlq[0].headers[0].value->find("orders[0]@5"), std::string::npos)
      << *dlq[0].headers[0].value;
}

}  // namespace
