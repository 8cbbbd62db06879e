#include "base/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace spate {

namespace {
constexpr size_t max_name = 15;  // TASK_COMM_LEN less its terminator
}

void name_this_thread(std::string_view name) {
  std::array<char, max_name + 1> buf{};
  std::memcpy(buf.data(), name.data(), std::min(name.size(), max_name));
  (void)pthread_setname_np(pthread_self(), buf.data());
}

std::string this_thread_name() {
  std::array<char, max_name + 1> buf{};
  if (pthread_getname_np(pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

}  // namespace spate
