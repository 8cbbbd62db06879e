#pragma once

#include <string>
#include <string_view>

namespace spate {

// Names the calling thread, as `top -H`, `ps -L`, perf and gdb show it: "spate-core-0",
// "spate-flush", ... Linux keeps 15 bytes; a longer name is cut there. Best effort: a failure
// to name a thread changes nothing else.
void name_this_thread(std::string_view name);

// The calling thread's name, as the kernel keeps it ("" if it cannot be read).
std::string this_thread_name();

}  // namespace spate
