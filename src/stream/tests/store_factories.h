// The state store implementations the contract tests run against.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spate/stream/state_store.h"

namespace spate::stream::testing {

struct store_factory {
  std::string name;
  std::function<std::unique_ptr<state_store>()> make;
};

inline std::vector<store_factory> store_factories() {
  return {{"memory", [] { return make_memory_store(); }}};
}

}  // namespace spate::stream::testing
