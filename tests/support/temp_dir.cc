#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace spate::test {

temp_dir::temp_dir() {
  static std::atomic<int> counter{0};
  std::string name = "spate-test";
  if (auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += std::string("-") + info->test_suite_name() + "-" + info->name();
  }
  for (auto& c : name) {
    if (c == '/') c = '_';
  }
  _path = (std::filesystem::temp_directory_path() /
           (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
  std::filesystem::remove_all(_path);
  std::filesystem::create_directories(_path);
}

temp_dir::~temp_dir() {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info && info->result()->Failed()) return;
  std::error_code ec;
  std::filesystem::remove_all(_path, ec);
}

}  // namespace spate::test
