#include "observe/log.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <mutex>
#include <utility>

namespace spate::observe {

namespace {

// Serializes creation against set_log_level, so a logger created concurrently with a level
// change cannot miss it.
std::mutex& loggers_mutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<spdlog::sinks::sink> shared_sink() {
  static const auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();  // colours on a tty only
    s->set_pattern("%Y-%m-%d %H:%M:%S.%e [%^%l%$] [%n] [t%t] %v");
    return s;
  }();
  return sink;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  std::lock_guard lock(loggers_mutex());
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(name, shared_sink());
  created->set_level(spdlog::get_level());
  spdlog::register_logger(created);
  return created;
}

result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  using spdlog::level::level_enum;
  static constexpr std::array<std::pair<std::string_view, level_enum>, 7> levels{{
      {"trace", level_enum::trace},
      {"debug", level_enum::debug},
      {"info", level_enum::info},
      {"warn", level_enum::warn},
      {"error", level_enum::err},
      {"critical", level_enum::critical},
      {"off", level_enum::off},
  }};
  for (const auto& [n, level] : levels) {
    if (n == name) return level;
  }
  return error(std::make_error_code(std::errc::invalid_argument),
               fmt::format("unknown log level '{}' (expected trace, debug, info, warn, error, "
                           "critical or off)",
                           name));
}

status set_log_level(std::string_view name) {
  auto level = parse_log_level(name);
  if (!level) return level.error();
  std::lock_guard lock(loggers_mutex());
  spdlog::set_level(*level);
  return ok();
}

}  // namespace spate::observe
