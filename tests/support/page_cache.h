// What the page cache holds of a file, for tests of eviction (the page-cache window,
// io::file::drop_cache).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace spate::test {

// Pages of [from, to) of `file` in the page cache (mincore over a read-only mapping); `from`
// is rounded down to a page.
size_t resident_pages(const std::filesystem::path& file, uint64_t from, uint64_t to);

// Whether `dir` is on tmpfs, whose pages are the files themselves and are never evicted.
bool on_tmpfs(const std::filesystem::path& dir);

}  // namespace spate::test
