// Compresses record-batch bodies with the real codecs, the way Kafka clients frame them, so
// tests can build compressed batches that storage decompresses (storage/compression.h):
//   1 gzip    an RFC 1952 gzip stream (zlib's deflate with a gzip header);
//   2 snappy  xerial / snappy-java framing (magic, version 1, compatible 1, blocks of int32
//             length + raw snappy), or one raw snappy block (librdkafka's form);
//   3 lz4     one LZ4 frame (LZ4F_compressFrame);
//   4 zstd    one zstd frame (ZSTD_compress).
//
//   byte_buffer body = test::compress(4, records);
#pragma once

#include <cstddef>

#include "base/bytes.h"

namespace spate::test {

enum class snappy_framing { xerial, raw };

// `codec` is the batch attribute's codec id, 1..4 (asserted). For xerial snappy,
// `xerial_block_size` is the uncompressed size of each block (several blocks for a big input).
byte_buffer compress(int codec, bytes_view raw, snappy_framing framing = snappy_framing::xerial,
                     size_t xerial_block_size = 32 * 1024);

}  // namespace spate::test
