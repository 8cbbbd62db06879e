#include "observe/log.h"
#include "spate/stream/detail/operators.h"

namespace spate::stream::detail {

status source_core::reject(engine_context& ctx, const input_record& r, error e) {
  ++ctx.stats->rejected_records;
  e = e.with_context(_topic + "[" + std::to_string(r.partition.value) + "]@" +
                     std::to_string(r.offset.value));
  switch (_policy) {
    case error_policy::fail:
      return e;
    case error_policy::skip: {
      static const auto log = observe::logger("stream");
      log->warn("skipped record: {}", e.message());
      return ok();
    }
    case error_policy::dead_letter: {
      output_record dl{_dead_letter_topic, r.key, r.value, r.timestamp, r.headers};
      dl.headers.push_back(client::header{"spate.error", e.message()});
      ctx.outputs->push_back(std::move(dl));
      ++ctx.stats->dead_letters;
      return ok();
    }
  }
  return e;
}

void source_core::observe(partition_id p, timestamp_ms event_time, timestamp_ms now) {
  if (_mode == time_mode::event_time) _watermarks.observe(p, event_time, now);
}

timestamp_ms source_core::current_watermark(timestamp_ms now) {
  if (_mode == time_mode::processing_time) {
    // Records are stamped with the wall clock at arrival, so everything up to now - 1 is in.
    _processing_watermark = std::max(_processing_watermark, add_saturating(now, -1));
    return _processing_watermark;
  }
  return _watermarks.current(now);
}

}  // namespace spate::stream::detail
