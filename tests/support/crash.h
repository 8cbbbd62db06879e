// Simulating a process crash in-process: the object is dropped without its destructor
// running (no clean close, no final sync), exactly what a SIGKILL leaves behind. The memory is
// deliberately leaked, so LeakSanitizer is told to treat it as live.
#pragma once

#include <memory>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define SPATE_HAS_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SPATE_HAS_LSAN 1
#endif

namespace spate::test {

template <class T>
void crash(std::unique_ptr<T>& object) {
  T* leaked = object.release();
#if defined(SPATE_HAS_LSAN)
  __lsan_ignore_object(leaked);
#else
  (void)leaked;
#endif
}

}  // namespace spate::test
