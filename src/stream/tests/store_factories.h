// The state store implementations the contract tests (and some pipeline tests) run against.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spate/stream/rocksdb_store.h"
#include "spate/stream/state_store.h"
#include "support/temp_dir.h"

namespace spate::stream::testing {

struct store_factory {
  std::string name;
  std::function<std::unique_ptr<state_store>()> make;
};

// A fresh RocksDB store in its own folder under one temporary directory per test process.
inline std::unique_ptr<state_store> make_test_rocksdb_store() {
  static spate::test::temp_dir dir;
  static std::atomic<int> next{0};
  auto s = make_rocksdb_store({.path = dir / ("store-" + std::to_string(next++))});
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : make_memory_store();
}

inline std::vector<store_factory> store_factories() {
  return {{"memory", [] { return make_memory_store(); }}, {"rocksdb", make_test_rocksdb_store}};
}

}  // namespace spate::stream::testing
