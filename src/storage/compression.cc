#include "storage/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>

#include "storage/errc.h"

namespace spate::storage {
namespace {

error corrupt(const char* codec, const std::string& what) {
  return error(errc::invalid_records, std::string(codec) + " payload: " + what);
}

error too_large(const char* codec, size_t max_size) {
  return error(errc::invalid_records, std::string(codec) + " payload decompresses to more than " +
                                          std::to_string(max_size) + " bytes");
}

// The growing output of a streaming decoder, never larger than `limit`.
class bounded_output {
 public:
  bounded_output(size_t hint, size_t input_size, size_t limit) : _limit(limit) {
    size_t first = hint > 0 ? hint : std::max<size_t>(input_size * 4, 4096);
    _buf.resize(std::min(first, limit));
  }
  // Makes room after `used()`; false when the output is already at the limit. zlib counts
  // space in 32 bits, so no window offered is larger than that.
  bool make_room() {
    if (_used < _buf.size()) return true;
    if (_buf.size() >= _limit) return false;
    _buf.resize(std::min(std::max<size_t>(_buf.size() * 2, 4096), _limit));
    return true;
  }
  uint8_t* free_space() { return _buf.data() + _used; }
  size_t free_size() const { return std::min<size_t>(_buf.size() - _used, UINT_MAX); }
  void advance(size_t n) { _used += n; }
  size_t used() const { return _used; }
  byte_buffer take() && {
    _buf.resize(_used);
    return std::move(_buf);
  }

 private:
  byte_buffer _buf;
  size_t _used = 0;
  size_t _limit;
};

result<byte_buffer> gunzip(bytes_view in, size_t hint, size_t limit) {
  if (in.size() > UINT_MAX) return corrupt("gzip", "larger than 4 GiB");
  z_stream s{};
  // 15 + 32: the largest window, and a gzip or zlib header detected automatically.
  if (inflateInit2(&s, 15 + 32) != Z_OK) return corrupt("gzip", "inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, inflateEnd);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  bounded_output out(hint, in.size(), limit);
  while (true) {
    if (!out.make_room()) return too_large("gzip", limit);
    s.next_out = out.free_space();
    s.avail_out = static_cast<uInt>(out.free_size());
    uInt offered = s.avail_out;
    int r = inflate(&s, Z_NO_FLUSH);
    out.advance(offered - s.avail_out);
    if (r == Z_STREAM_END) {
      if (s.avail_in == 0) break;
      // Concatenated gzip members, as java.util.zip.GZIPInputStream reads them.
      if (inflateReset(&s) != Z_OK) return corrupt("gzip", "inflateReset failed");
      continue;
    }
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR && s.avail_out == 0) continue;  // output full: grow and go on
    if (r == Z_BUF_ERROR) return corrupt("gzip", "truncated stream");
    return corrupt("gzip", s.msg ? s.msg : "inflate error " + std::to_string(r));
  }
  return std::move(out).take();
}

// One raw snappy block appended to `out`, keeping the total under `limit`.
status unsnappy_block(bytes_view block, byte_buffer& out, size_t limit) {
  const char* p = reinterpret_cast<const char*>(block.data());
  size_t n = 0;
  if (!snappy::GetUncompressedLength(p, block.size(), &n)) {
    return corrupt("snappy", "bad block length preamble");
  }
  if (n > limit - out.size()) return too_large("snappy", limit);
  size_t at = out.size();
  out.resize(at + n);
  if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return corrupt("snappy", "corrupt block");
  }
  return ok();
}

result<byte_buffer> unsnappy(bytes_view in, size_t limit) {
  // snappy-java's SnappyOutputStream: 8-byte magic, int32 version, int32 compatible version.
  static constexpr uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  constexpr size_t xerial_header = 16;
  byte_buffer out;
  if (in.size() < sizeof(magic) || !std::equal(magic, magic + sizeof(magic), in.begin())) {
    SPATE_TRY(unsnappy_block(in, out, limit));
    return out;
  }
  if (in.size() < xerial_header) return corrupt("snappy", "truncated xerial header");
  size_t pos = xerial_header;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return corrupt("snappy", "truncated xerial block length");
    int32_t len = load_be<int32_t>(in.data() + pos);
    pos += 4;
    if (len < 0 || static_cast<size_t>(len) > in.size() - pos) {
      return corrupt("snappy", "xerial block length " + std::to_string(len) + " past the end");
    }
    SPATE_TRY(unsnappy_block(in.subspan(pos, static_cast<size_t>(len)), out, limit));
    pos += static_cast<size_t>(len);
  }
  return out;
}

result<byte_buffer> unlz4(bytes_view in, size_t hint, size_t limit) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return corrupt("lz4", "cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw,
                                                                   LZ4F_freeDecompressionContext);
  bounded_output out(hint, in.size(), limit);
  size_t pos = 0;
  while (true) {
    if (!out.make_room()) return too_large("lz4", limit);
    size_t dst = out.free_size();
    size_t offered = dst;
    size_t src = in.size() - pos;
    size_t r = LZ4F_decompress(ctx.get(), out.free_space(), &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(r)) return corrupt("lz4", LZ4F_getErrorName(r));
    pos += src;
    out.advance(dst);
    if (r == 0) {
      if (pos == in.size()) break;  // a frame ended with the input
      continue;                     // another frame follows
    }
    // Neither all input consumed into a full output: the decoder wants more than there is.
    if (pos == in.size() && dst < offered) return corrupt("lz4", "truncated frame");
  }
  return std::move(out).take();
}

result<byte_buffer> unzstd(bytes_view in, size_t hint, size_t limit) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return corrupt("zstd", "cannot create a decompression context");
  // A frame may ask for a window of up to 2^27 bytes by default; refuse more than the output
  // could ever use, so a hostile header cannot make the decoder allocate it.
  int window_log = 10;
  while (window_log < 27 && (size_t{1} << window_log) < limit) ++window_log;
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log);
  bounded_output out(hint, in.size(), limit);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  while (true) {
    if (!out.make_room()) return too_large("zstd", limit);
    ZSTD_outBuffer ob{out.free_space(), out.free_size(), 0};
    size_t r = ZSTD_decompressStream(ctx.get(), &ob, &ib);
    if (ZSTD_isError(r)) return corrupt("zstd", ZSTD_getErrorName(r));
    out.advance(ob.pos);
    if (r == 0 && ib.pos == ib.size) break;  // the last frame is complete and flushed
    if (ib.pos == ib.size && ob.pos < ob.size) return corrupt("zstd", "truncated frame");
  }
  return std::move(out).take();
}

}  // namespace

result<byte_buffer> decompress(compression codec, bytes_view payload, size_t size_hint,
                               size_t max_size) {
  switch (codec) {
    case compression::none:
      if (payload.size() > max_size) return too_large("uncompressed", max_size);
      return byte_buffer(payload.begin(), payload.end());
    case compression::gzip:
      return gunzip(payload, size_hint, max_size);
    case compression::snappy:
      return unsnappy(payload, max_size);
    case compression::lz4:
      return unlz4(payload, size_hint, max_size);
    case compression::zstd:
      return unzstd(payload, size_hint, max_size);
  }
  return error(errc::unsupported_compression, "codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace spate::storage
