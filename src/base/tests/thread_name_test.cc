#include "base/thread_name.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

namespace spate {
namespace {

// What the kernel shows for the calling thread (top -H, ps -L read the same file).
std::string comm_of_this_thread() {
  std::ifstream f("/proc/thread-self/comm");
  std::string name;
  std::getline(f, name);
  return name;
}

TEST(thread_name, names_the_calling_thread_as_the_kernel_shows_it) {
  std::thread t([] {
    name_this_thread("spate-core-3");
    EXPECT_EQ(comm_of_this_thread(), "spate-core-3");
    EXPECT_EQ(this_thread_name(), "spate-core-3");
  });
  t.join();
}

TEST(thread_name, a_long_name_is_cut_at_fifteen_bytes) {
  std::thread t([] {
    name_this_thread("spate-a-very-long-thread-name");
    EXPECT_EQ(comm_of_this_thread(), "spate-a-very-lo");
  });
  t.join();
}

TEST(thread_name, other_threads_keep_their_names) {
  std::string before = comm_of_this_thread();
  std::thread t([] { name_this_thread("spate-other"); });
  t.join();
  EXPECT_EQ(comm_of_this_thread(), before);
}

}  // namespace
}  // namespace spate
