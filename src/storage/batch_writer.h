// Builds an uncompressed RecordBatch v2 from records, for batches the broker writes itself
// (committed offsets, group metadata, later transaction markers). Client batches are never
// rebuilt: they are stored as sent.
//
//   storage::batch_writer w(wall_now());
//   w.add(key_bytes, value_bytes);      // nullopt value: a tombstone
//   byte_buffer batch = w.finish();     // base offset 0; the log assigns the real one
#pragma once

#include <optional>

#include "base/bytes.h"
#include "base/strong_id.h"

namespace spate::storage {

// A record field (key or value) in RecordBatch v2 layout: varint length, then the bytes; null
// is length -1. Shared by batch_writer and the cleaner, which re-encodes records it keeps.
void put_nullable(byte_buffer& out, std::optional<bytes_view> b);

class batch_writer {
 public:
  explicit batch_writer(timestamp_ms timestamp) : _timestamp(timestamp) {}
  void add(std::optional<bytes_view> key, std::optional<bytes_view> value);
  size_t count() const { return _count; }
  // The whole batch: header (producer id -1), records, CRC-32C.
  byte_buffer finish() const;

 private:
  timestamp_ms _timestamp;
  byte_buffer _records;
  int32_t _count = 0;
};

}  // namespace spate::storage
