// What is particular to the RocksDB store: opening, reopening, failing clearly, and running a
// pipeline (the contract itself is in state_store_test.cc).
#include "spate/stream/rocksdb_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "spate/stream/stream.h"
#include "support/temp_dir.h"

namespace spate::stream {
namespace {

TEST(rocksdb_store, wipes_on_open_unless_asked_to_keep) {
  spate::test::temp_dir dir;
  auto path = dir / "s";
  {
    auto s = make_rocksdb_store({.path = path});
    ASSERT_TRUE(s) << s.error().message();
    auto ns = (*s)->open("n");
    (*s)->put(ns, "k", "v");
  }
  {
    auto s = make_rocksdb_store({.path = path, .keep_existing = true});
    ASSERT_TRUE(s) << s.error().message();
    auto names = (*s)->namespaces();
    EXPECT_EQ(names, (std::vector<std::string>{"n"}));
    EXPECT_EQ((*s)->get((*s)->open("n"), "k"), "v");
  }
  auto s = make_rocksdb_store({.path = path});
  ASSERT_TRUE(s);
  EXPECT_TRUE((*s)->namespaces().empty());
  EXPECT_EQ((*s)->get((*s)->open("n"), "k"), std::nullopt);
}

TEST(rocksdb_store, an_unusable_folder_is_a_clear_error) {
  spate::test::temp_dir dir;
  std::ofstream(dir / "file") << "x";
  auto s = make_rocksdb_store({.path = dir / "file/store"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::state_store_failed);
  EXPECT_NE(s.error().detail.find("file/store"), std::string::npos) << s.error().message();
}

TEST(rocksdb_store, runs_a_windowed_pipeline_and_restores_it_into_memory) {
  spate::test::temp_dir dir;
  auto build = [] {
    topology_builder b;
    b.source<int64_t>("n")
        .key_by([](int64_t v) { return v % 3; })
        .window(tumbling(duration(10)))
        .named("w")
        .sum([](int64_t v) { return v; })
        .to("sums");
    auto t = b.build();
    EXPECT_TRUE(t);
    return std::move(*t);
  };
  auto store = make_rocksdb_store({.path = dir / "s"});
  ASSERT_TRUE(store);
  test_driver_config cfg;
  cfg.engine.store = std::move(*store);
  auto d = test_driver::create(build(), std::move(cfg));
  ASSERT_TRUE(d);
  for (int64_t v = 0; v < 9; ++v) {
    ASSERT_TRUE(d->pipe("n", v, number_serde<int64_t>(), timestamp_ms(v)));
  }
  EXPECT_EQ(d->state("w").size(), 3u);
  auto changes = d->get_engine().checkpoint().state_changes;

  // The changelog's content moves the state to another store kind.
  auto again = test_driver::create(build(), changes);
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->pipe("n", int64_t(9), number_serde<int64_t>(), timestamp_ms(9)));
  ASSERT_TRUE(again->end_of_input());
  auto out = again->read("sums", json_serde<windowed<int64_t, int64_t>>());
  ASSERT_TRUE(out);
  std::map<int64_t, int64_t> got;
  for (auto& r : *out) got[r.value.key] = r.value.value;
  std::map<int64_t, int64_t> want;
  for (int64_t v = 0; v < 10; ++v) want[v % 3] += v;
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace spate::stream
