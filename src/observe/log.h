// Named loggers: each module logs through its own spdlog logger ("storage", "kafka", ...), so a
// line says where it came from and levels can later be tuned per module.
//
//   static const auto log = observe::logger("storage");   // look up once, not per line
//   log->warn("truncated torn tail of {} at {}", path, pos);
//
//   if (auto s = observe::set_log_level(config.log_level); !s) return s.error();
//
// All loggers share one stderr sink (one line is written whole, never interleaved) with the
// pattern `2024-05-01 12:00:00.123 [warn] [storage] [t1234] message`. Thread-safe; logging
// itself is spdlog's synchronous path, so keep it off per-record hot loops.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace spate::observe {

// The logger called `name`, created on first use at the current global level and registered
// with spdlog (so spdlog::get(name) finds it too).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// "trace", "debug", "info", "warn", "error", "critical" or "off"; anything else is an
// invalid_argument error naming the bad value (spdlog's own parser maps it to "off" silently).
result<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Sets the level of every logger, existing and future.
status set_log_level(std::string_view name);

}  // namespace spate::observe
