// The state store contract, for every implementation: reads and writes per namespace, ordered
// prefix scans, change capture (latest per key, deletions as tombstones) and restore.
#include "spate/stream/state_store.h"

#include <gtest/gtest.h>

#include <functional>

#include "store_factories.h"

namespace spate::stream {
namespace {

class state_store_contract : public ::testing::TestWithParam<testing::store_factory> {
 protected:
  std::unique_ptr<state_store> make() { return GetParam().make(); }
};

TEST_P(state_store_contract, namespaces_are_separate) {
  auto s = make();
  auto a = s->open("a");
  auto b = s->open("b");
  EXPECT_EQ(s->open("a"), a);
  s->put(a, "k", "1");
  s->put(b, "k", "2");
  EXPECT_EQ(s->get(a, "k"), "1");
  EXPECT_EQ(s->get(b, "k"), "2");
  s->erase(a, "k");
  EXPECT_EQ(s->get(a, "k"), std::nullopt);
  EXPECT_EQ(s->get(b, "k"), "2");
  EXPECT_TRUE(s->health());
}

TEST_P(state_store_contract, scans_a_prefix_in_byte_order) {
  auto s = make();
  auto ns = s->open("n");
  for (auto k : {"b2", "a", "b1", "b\xff", "c", "b"}) s->put(ns, k, std::string("v") + k);
  std::vector<std::string> keys;
  s->scan(ns, "b", [&](std::string_view k, std::string_view v) {
    EXPECT_EQ(v, "v" + std::string(k));
    keys.emplace_back(k);
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "b1", "b2", "b\xff"}));
  int seen = 0;
  s->scan(ns, {}, [&](std::string_view, std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2) << "returning false stops the scan";
}

// A join's visitor erases what it matched and emits downstream, where an operator may open
// its state namespace for the first time: neither may break the scan in progress.
TEST_P(state_store_contract, a_scan_survives_its_visitor_erasing_and_opening_namespaces) {
  auto s = make();
  auto ns = s->open("n");
  for (auto k : {"p1", "p2", "p3", "p4"}) s->put(ns, k, k);
  std::vector<std::string> seen;
  int opened = 0;
  s->scan(ns, "p", [&](std::string_view k, std::string_view v) {
    EXPECT_EQ(k, v);
    seen.emplace_back(k);
    s->erase(ns, k);
    for (int i = 0; i < 16; ++i) s->open("late-" + std::to_string(opened++));
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"p1", "p2", "p3", "p4"}));
  int left = 0;
  s->scan(ns, {}, [&](std::string_view, std::string_view) { return ++left > 0; });
  EXPECT_EQ(left, 0);
}

TEST_P(state_store_contract, captures_the_latest_change_per_key_once) {
  auto s = make();
  auto ns = s->open("n");
  s->put(ns, "x", "1");
  s->put(ns, "y", "1");
  s->put(ns, "x", "2");
  s->erase(ns, "y");
  s->erase(ns, "never-there");
  auto changes = s->take_changes();
  std::vector<state_change> want{{"n", "x", "2"}, {"n", "y", std::nullopt}};
  EXPECT_EQ(changes, want);
  EXPECT_TRUE(s->take_changes().empty());
  s->set_capture(false);
  s->put(ns, "z", "1");
  EXPECT_TRUE(s->take_changes().empty());
}

TEST_P(state_store_contract, restore_rebuilds_without_capturing) {
  auto s = make();
  s->restore({"n", "x", "1"});
  s->restore({"n", "y", "2"});
  s->restore({"n", "y", std::nullopt});
  auto ns = s->open("n");
  EXPECT_EQ(s->get(ns, "x"), "1");
  EXPECT_EQ(s->get(ns, "y"), std::nullopt);
  EXPECT_TRUE(s->take_changes().empty());
  auto names = s->namespaces();
  EXPECT_NE(std::find(names.begin(), names.end(), "n"), names.end());
}

INSTANTIATE_TEST_SUITE_P(stores, state_store_contract,
                         ::testing::ValuesIn(testing::store_factories()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace spate::stream
