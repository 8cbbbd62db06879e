// Assertions for bugs, never for user input (architecture.md, "Errors").
//
// SPATE_ASSERT(cond) is on in every build mode: a broken invariant in a storage engine must
// stop the process before it writes something wrong, not after. It prints file:line and the
// condition, then aborts.
#pragma once

namespace spate::detail {
[[noreturn]] void assert_failed(const char* condition, const char* file, int line,
                                const char* message);
}  // namespace spate::detail

#define SPATE_ASSERT(cond)                                                \
  do {                                                                    \
    if (!(cond)) [[unlikely]]                                             \
      ::spate::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr); \
  } while (0)

#define SPATE_ASSERT_MSG(cond, msg)                                     \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      ::spate::detail::assert_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
