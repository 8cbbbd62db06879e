// The storage layer's metrics: names and help texts in one table (this file), looked up once
// in the process-wide registry and then recorded lock-free on the hot path.
#pragma once

#include "observe/metrics.h"

namespace spate::storage {

struct storage_metrics {
  observe::counter& appended_batches;
  observe::counter& appended_bytes;
  observe::counter& rejected_batches;
  observe::counter& append_failures;
  observe::counter& fdatasyncs;
  observe::counter& fdatasync_failures;
  observe::histogram& fdatasync_micros;
  observe::counter& durable_waiters_completed;
  observe::counter& segments_rolled;
  observe::counter& segments_deleted;
  observe::counter& recovered_truncated_bytes;
  observe::counter& indexes_rebuilt;
  observe::counter& duplicate_batches;
  observe::counter& snapshot_failures;
  observe::counter& index_failures;
  observe::counter& reserve_failures;
  observe::gauge& reserved_ahead_bytes;
  observe::counter& page_cache_dropped_bytes;
  observe::counter& page_cache_drop_failures;
  observe::counter& write_behind_bytes;
  observe::counter& write_behind_failures;
  observe::counter& cleaner_passes;
  observe::counter& cleaner_failures;
  observe::counter& cleaner_bytes_read;
  observe::counter& cleaner_bytes_written;
  observe::counter& cleaner_records_removed;
  observe::counter& cleaner_tombstones_removed;
  observe::gauge& append_ring_bytes;
  observe::counter& append_ring_written_bytes;
  observe::counter& append_ring_failures;

  static storage_metrics& get() {
    auto& r = observe::registry::global();
    static storage_metrics m{
        r.counter("spate_storage_appended_batches_total", "Record batches appended to logs"),
        r.counter("spate_storage_appended_bytes_total", "Bytes of record batches appended"),
        r.counter("spate_storage_rejected_batches_total",
                  "Batches rejected by validation (nothing written)"),
        r.counter("spate_storage_append_failures_total",
                  "Appends that failed on I/O (undone; nothing kept)"),
        r.counter("spate_storage_fdatasyncs_total", "fdatasync calls made by the flusher"),
        r.counter("spate_storage_fdatasync_failures_total",
                  "fdatasync calls that failed (the log became read-only)"),
        r.histogram("spate_storage_fdatasync_microseconds", "Duration of flusher fdatasync calls"),
        r.counter("spate_storage_durable_acks_total",
                  "Durability waiters completed after a sync (group commit shares one sync)"),
        r.counter("spate_storage_segments_rolled_total", "Segments closed by size, age or request"),
        r.counter("spate_storage_segments_deleted_total",
                  "Segments deleted by retention or delete-records"),
        r.counter("spate_storage_recovery_truncated_bytes_total",
                  "Bytes of torn or corrupt log tail cut by recovery"),
        r.counter("spate_storage_indexes_rebuilt_total",
                  "Segment indexes rebuilt because they disagreed with the log"),
        r.counter("spate_storage_duplicate_batches_total",
                  "Idempotent producer retries answered with the original offsets (not written)"),
        r.counter("spate_storage_producer_snapshot_failures_total",
                  "Producer-state snapshots not written or not removed (a longer replay at start)"),
        r.counter("spate_storage_index_failures_total",
                  "Indexes of rolled segments not written (the segment is scanned at start)"),
        r.counter("spate_storage_reserve_failures_total",
                  "Disk blocks not reserved ahead of appends (fallocate failed or unsupported; "
                  "the segment appends without), or not freed past a closed segment's end"),
        r.gauge("spate_storage_reserved_ahead_bytes",
                "Disk space reserved past the data of active segments (flush.policy os or "
                "interval; freed at roll and close; at most the process's reservation budget)"),
        r.counter("spate_storage_page_cache_dropped_bytes_total",
                  "Bytes of log behind the page-cache window given their second eviction pass "
                  "(pages still dirty then stay cached; partition_log::set_page_cache_budget)"),
        r.counter("spate_storage_page_cache_drop_failures_total",
                  "Ranges whose write-back or eviction failed (they stay cached; data unaffected)"),
        r.counter("spate_storage_write_behind_bytes_total",
                  "Bytes of interval-policy logs whose write-back the flusher started ahead of "
                  "the timer's fdatasync (log_config::write_behind_bytes)"),
        r.counter("spate_storage_write_behind_failures_total",
                  "Write-behind requests that failed to start (refused: the timer's fdatasync "
                  "writes those pages instead; a write-back failure such as EIO or ENOSPC fails "
                  "the log, as a failed fdatasync does)"),
        r.counter("spate_storage_cleaner_passes_total",
                  "Compaction passes that rewrote or checked a log's closed segments"),
        r.counter("spate_storage_cleaner_failures_total",
                  "Compaction passes that failed (the log was left as it was) or index/checkpoint "
                  "writes after a pass that failed"),
        r.counter("spate_storage_cleaner_bytes_read_total",
                  "Bytes of closed segments read by the cleaner"),
        r.counter("spate_storage_cleaner_bytes_written_total",
                  "Bytes of cleaned segments written by the cleaner"),
        r.counter("spate_storage_cleaner_records_removed_total",
                  "Records removed by compaction because a newer record has the same key"),
        r.counter("spate_storage_cleaner_tombstones_removed_total",
                  "Tombstones removed by compaction after delete.retention.ms"),
        r.gauge("spate_storage_append_ring_bytes",
                "Bytes of append rings mapped by busy logs under flush.policy os or interval "
                "(storage/append_ring.h; at most the process's ring budget)"),
        r.counter("spate_storage_append_ring_written_bytes_total",
                  "Bytes the append rings wrote into their segments"),
        r.counter("spate_storage_append_ring_failures_total",
                  "Writes of an append ring into its segment that failed (the log became "
                  "read-only; the ring file keeps the data for the next open)"),
    };
    return m;
  }
};

}  // namespace spate::storage
