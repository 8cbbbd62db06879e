// file_range: a run of whole record batches in a segment file, put into a Fetch response
// without reading it (kafka::records::external). The connection sends it straight from the
// page cache with sendfile, so a fetch costs no user-space copy and no buffer of its size;
// files without a descriptor (test doubles) are read in bounded chunks instead.
//
// The bytes a slice covers never change once written (base offsets are assigned before the
// write), and the shared file handle keeps them readable even if retention unlinks the
// segment before the response is sent.
//
// Threading: made on the partition's owner core, then read-only on the connection's core.
#pragma once

#include <memory>

#include "kafka/protocol/message.h"
#include "storage/segment.h"

namespace spate::kafka {

struct file_range final : external_bytes {
  explicit file_range(storage::file_slice s) : slice(std::move(s)) {}
  uint64_t size() const override { return slice.size; }
  storage::file_slice slice;
};

}  // namespace spate::kafka
