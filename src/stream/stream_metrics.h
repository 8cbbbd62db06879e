// The stream engine's metrics: names and help texts in one table (this file). Operators count
// into the engine's plain engine_stats on the per-record path; the engine adds the increments
// to these counters after each call, so a registry lookup or an atomic never sits in an
// operator.
#pragma once

#include <string>

#include "observe/metrics.h"
#include "spate/stream/detail/node.h"

namespace spate::stream::detail {

struct stream_metrics {
  observe::counter& records_in;
  observe::counter& records_out;
  observe::counter& late_records;
  observe::counter& late_records_dropped;
  observe::counter& rejected_records;
  observe::counter& dead_letters;
  observe::counter& null_values_skipped;

  // The watermark of source `topic` (ms since the epoch; unset before the first record).
  static observe::gauge& watermark(observe::registry& r, const std::string& application,
                                   const std::string& topic) {
    return r.gauge("spate_stream_watermark_ms",
                   "Event-time watermark of a source (ms since the epoch)",
                   {{"application", application}, {"topic", topic}});
  }

  static stream_metrics make(observe::registry& r, const std::string& application) {
    observe::label_set l{{"application", application}};
    return stream_metrics{
        r.counter("spate_stream_records_in_total", "Input records given to the engine", l),
        r.counter("spate_stream_records_out_total", "Records written by the pipeline's sinks", l),
        r.counter("spate_stream_late_records_total",
                  "Records that arrived after their windows (or join partners) were gone", l),
        r.counter("spate_stream_late_records_dropped_total",
                  "Late records with no late side output to go to", l),
        r.counter("spate_stream_rejected_records_total",
                  "Input records that did not decode or had no event time", l),
        r.counter("spate_stream_dead_letters_total",
                  "Rejected records written to a dead-letter topic", l),
        r.counter("spate_stream_null_values_skipped_total",
                  "Tombstones (null values) skipped by stream sources", l),
    };
  }

  // Adds what `now` counted beyond `before`, then remembers `now`. Skips the atomics when
  // nothing changed (the common case for all but records_in).
  void publish(const engine_stats& now, engine_stats& before) {
    auto add = [](observe::counter& c, uint64_t n, uint64_t b) {
      if (n != b) c.inc(n - b);
    };
    add(records_in, now.records_in, before.records_in);
    add(records_out, now.records_out, before.records_out);
    add(late_records, now.late_records, before.late_records);
    add(late_records_dropped, now.late_records_dropped, before.late_records_dropped);
    add(rejected_records, now.rejected_records, before.rejected_records);
    add(dead_letters, now.dead_letters, before.dead_letters);
    add(null_values_skipped, now.null_values_skipped, before.null_values_skipped);
    before = now;
  }
};

}  // namespace spate::stream::detail
