#include "support/compress.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <string>

namespace spate::test {
namespace {

byte_buffer gzip(bytes_view raw) {
  z_stream s{};
  // 15 + 16: the largest window, with a gzip header and trailer.
  SPATE_ASSERT(
      deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  byte_buffer out(deflateBound(&s, static_cast<uLong>(raw.size())) + 32);
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  SPATE_ASSERT(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

void append_raw_snappy(byte_buffer& out, bytes_view raw) {
  std::string block;
  snappy::Compress(reinterpret_cast<const char*>(raw.data()), raw.size(), &block);
  append_bytes(out, as_bytes(block));
}

byte_buffer snappy_xerial(bytes_view raw, size_t block_size) {
  static constexpr uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  byte_buffer out(magic, magic + sizeof(magic));
  append_be<int32_t>(out, 1);  // version
  append_be<int32_t>(out, 1);  // compatible version
  for (size_t pos = 0; pos < raw.size(); pos += block_size) {
    byte_buffer block;
    append_raw_snappy(block, raw.subspan(pos, std::min(block_size, raw.size() - pos)));
    append_be<int32_t>(out, static_cast<int32_t>(block.size()));
    append_bytes(out, block);
  }
  return out;
}

byte_buffer lz4(bytes_view raw) {
  byte_buffer out(LZ4F_compressFrameBound(raw.size(), nullptr));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), nullptr);
  SPATE_ASSERT(!LZ4F_isError(n));
  out.resize(n);
  return out;
}

byte_buffer zstd(bytes_view raw) {
  byte_buffer out(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
  SPATE_ASSERT(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

}  // namespace

byte_buffer compress(int codec, bytes_view raw, snappy_framing framing, size_t xerial_block_size) {
  switch (codec) {
    case 1:
      return gzip(raw);
    case 2:
      if (framing == snappy_framing::raw) {
        byte_buffer out;
        append_raw_snappy(out, raw);
        return out;
      }
      return snappy_xerial(raw, std::max<size_t>(xerial_block_size, 1));
    case 3:
      return lz4(raw);
    case 4:
      return zstd(raw);
  }
  SPATE_ASSERT(false && "codec must be 1..4");
  return {};
}

}  // namespace spate::test
