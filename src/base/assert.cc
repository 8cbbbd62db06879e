#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace spate::detail {

void assert_failed(const char* condition, const char* file, int line, const char* message) {
  // stderr directly: the logger may be the thing that is broken.
  std::fprintf(stderr, "spate: assertion failed at %s:%d: %s%s%s\n", file, line, condition,
               message ? " — " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace spate::detail
