#include "kafka/server/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "kafka/protocol/error_code.h"
#include "kafka/server/file_range.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace spate::kafka {
namespace {

const auto& log() {
  static const auto l = observe::logger("kafka");
  return l;
}

struct connection_metrics {
  observe::counter& malformed;
  observe::counter& oversized;
  observe::gauge& open;
  static connection_metrics& get() {
    auto& r = observe::registry::global();
    static connection_metrics m{
        r.counter("spate_kafka_malformed_requests_total",
                  "Requests that failed to parse; the connection was closed"),
        r.counter("spate_kafka_oversized_frames_total",
                  "Frames over socket.request.max.bytes; the connection was closed"),
        r.gauge("spate_kafka_connections", "Open client connections"),
    };
    return m;
  }
};

// Per-API request counter, latency and bytes, labelled by the API's name from its description.
struct api_metrics {
  observe::counter& requests;
  observe::histogram& micros;
  observe::counter& request_bytes;
  observe::counter& response_bytes;
};

template <class A>
api_metrics& metrics_for() {
  auto& r = observe::registry::global();
  static api_metrics m{
      r.counter("spate_kafka_requests_total", "Requests handled, by API", {{"api", A::name}}),
      r.histogram("spate_kafka_request_microseconds", "Request handling time, by API",
                  {{"api", A::name}}),
      r.counter("spate_kafka_request_bytes_total",
                "Bytes of requests handled (frames with their size prefix), by API",
                {{"api", A::name}}),
      r.counter("spate_kafka_response_bytes_total",
                "Bytes of responses sent (frames with their size prefix), by API",
                {{"api", A::name}}),
  };
  return m;
}

// Counts every non-zero `error_code` field of a response, at any depth (the top level, each
// topic, each partition), by walking the API's one description: so each API's errors are
// counted without a line in its handler, and a new API gets them for free.
class error_code_counter {
 public:
  explicit error_code_counter(const char* api) : _api(api) {}
  template <class T>
  void count(T& response) {
    visit(response, "");
  }

  template <class T>
  void operator()(T& field, const char* name, versions = {}) {
    visit(field, name);
  }

 private:
  void visit(int16_t v, const char* name) {
    if (v == 0 || std::strcmp(name, "error_code") != 0) return;
    // A registry lookup (mutex) per error; errors are rare next to requests.
    observe::registry::global()
        .counter("spate_kafka_errors_total",
                 "Error codes in responses (request, topic or partition level), by API and code",
                 {{"api", _api}, {"code", std::to_string(v)}})
        .inc();
  }
  template <class T>
  void visit(std::vector<T>& v, const char*) {
    for (auto& e : v) visit(e, "");
  }
  template <class T>
  void visit(std::optional<std::vector<T>>& v, const char* name) {
    if (v) visit(*v, name);
  }
  template <class T>
  requires describable<T, error_code_counter>
  void visit(T& s, const char*) { s.describe(*this); }
  template <class T>
  void visit(T&, const char*) {}  // other scalars, strings, bytes, records

  const char* _api;
};

// The reply Kafka gives an ApiVersions request of a version it does not know: header v0 and a
// v0 body with UNSUPPORTED_VERSION and our ApiVersions range (kafka-compat.md §7).
response_frame unsupported_api_versions(int32_t correlation_id) {
  api_versions_response resp;
  resp.error_code = to_wire(error_code::unsupported_version);
  resp.api_keys = {{static_cast<int16_t>(api_key::api_versions), api_versions_api::min_version,
                    api_versions_api::max_version}};
  return encode_response_frame<api_versions_api>(correlation_id, 0, resp);
}

// What serving one request produced.
struct served {
  response_frame response;
  bool respond = true;
  bool close = false;
  std::string failure;  // set: malformed or unsupported; the connection is closed
};

template <class A>
asio::awaitable<void> serve(request_context& ctx, mutable_bytes frame, served& out) {
  request_header hdr = ctx.header;
  if (hdr.version < A::min_version || hdr.version > A::max_version) {
    if constexpr (A::key == api_key::api_versions) {
      out.response = unsupported_api_versions(hdr.correlation_id);
    } else {
      out.failure = std::string(A::name) + " v" + std::to_string(hdr.version) +
                    " is not supported (we serve v" + std::to_string(A::min_version) + "-" +
                    std::to_string(A::max_version) + ")";
    }
    co_return;
  }
  typename A::request req;
  auto decoded = decode_request<A>(frame, hdr, req);
  if (!decoded) {
    out.failure = decoded.error().message();
    co_return;
  }
  auto& m = metrics_for<A>();
  auto began = std::chrono::steady_clock::now();
  auto resp = co_await handle(ctx, req);
  m.requests.inc();
  m.micros.record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::steady_clock::now() - began)
                                            .count()));
  m.request_bytes.inc(frame.size() + 4);
  error_code_counter(A::name).count(resp);
  out.close = ctx.close_connection;
  out.respond = !ctx.suppress_response;
  if (out.respond) {
    out.response = encode_response_frame<A>(hdr.correlation_id, hdr.version, resp);
    m.response_bytes.inc(out.response.size());
  }
}

using serve_fn = asio::awaitable<void> (*)(request_context&, mutable_bytes, served&);

// The dispatch table, derived from the registry: one entry per API that has a handler.
const std::array<serve_fn, 128> serve_table = [] {
  std::array<serve_fn, 128> t{};
  for_each_api([&]<class A>() {
    if constexpr (handled<A>) t[static_cast<size_t>(A::key)] = &serve<A>;
  });
  return t;
}();

// A connection's read buffer: one recv takes up to this much, so pipelined requests and a
// request's size prefix and body arrive in one system call, not two or three per request.
constexpr size_t read_buffer_bytes = 64 * 1024;
// A frame that is not all buffered and is at least this big (prefix included) is read straight
// into its own allocation rather than through the read buffer: big produce requests are not
// copied twice, and an incomplete frame left in the buffer always fits in it with room to spare.
constexpr size_t direct_read_min_bytes = read_buffer_bytes / 2;
// A Fetch response whose file ranges total at most this is read (pread) into one buffer with
// its encoded pieces and written with its neighbours: one pread instead of corking, a write,
// sendfile, a write and uncorking (5 system calls for a 1 KiB record). Larger ones keep
// sendfile, so a response never holds more than this of records in memory (B7, many consumers
// fetching large ranges: bench/RESULTS.md).
constexpr uint64_t inline_file_bytes = 64 * 1024;
// Bounds of one gathered write: Asio sends at most 64 buffers per call, and a megabyte keeps
// what the writer holds (inlined fetches included) small next to the socket's buffer.
constexpr size_t max_gather_buffers = 64;
constexpr size_t max_gather_bytes = 1024 * 1024;

}  // namespace

connection::connection(server& srv, asio::ip::tcp::socket socket)
    : _srv(srv),
      _socket(std::move(socket)),
      _writer_wake(_socket.get_executor()),
      _reader_wake(_socket.get_executor()),
      _append_order(_socket.get_executor()) {
  std::error_code ec;
  auto ep = _socket.remote_endpoint(ec);
  _peer = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  _socket.set_option(asio::ip::tcp::no_delay(true), ec);
}

void connection::start() {
  connection_metrics::get().open.inc();
  auto self = shared_from_this();
  asio::co_spawn(
      _socket.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      _socket.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

void connection::close() {
  if (_closed) return;
  _closed = true;
  connection_metrics::get().open.dec();
  std::error_code ec;
  _socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  _socket.close(ec);
  _writer_wake.cancel();
  _reader_wake.cancel();
}

asio::awaitable<void> connection::read_loop() {
  auto self = shared_from_this();
  const auto& cfg = _srv.config();
  _read_buf = std::make_unique_for_overwrite<uint8_t[]>(read_buffer_bytes);
  while (!_closed) {
    // Back-pressure: stop taking requests while the client has too much outstanding. Bytes
    // already buffered wait there (at most read_buffer_bytes); the socket is not read.
    while (!_closed && (_slots.size() >= cfg.max_in_flight_requests ||
                        _in_flight_bytes >= cfg.max_in_flight_bytes)) {
      std::error_code ec;
      _reader_wake.expires_at(asio::steady_timer::time_point::max());
      co_await _reader_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (_closed) break;
    std::error_code ec;
    // Plain loops: with `co_await` inside a `while` condition (`&& !(ec = co_await ...)`) the
    // first request was never answered (GCC 12.2).
    while (_read_end - _read_pos < 4) {
      ec = co_await read_more();
      if (ec) break;
    }
    if (ec) break;  // the client went away (a partial frame at EOF is dropped, as ever)
    int32_t size = load_be<int32_t>(_read_buf.get() + _read_pos);
    if (size < 8 || static_cast<size_t>(size) > cfg.max_frame_bytes) {
      connection_metrics::get().oversized.inc();
      log()->warn("{}: frame of {} bytes outside [8, {}]; closing", _peer, size,
                  cfg.max_frame_bytes);
      break;
    }
    const auto n = static_cast<size_t>(size);
    // Each frame gets its own exact-size allocation, not a view into the read buffer: handlers
    // keep their frame for as long as they run (a long-polling Fetch for max_wait_ms, a produce
    // until its batches are appended from it), and a view would pin or force reference-counted
    // buffer chunks, which a slow request would hold 64 KiB with and which in-flight byte
    // accounting could not see. Copying a small frame costs far less than the recv it saves.
    // Not zero-filled: every byte is overwritten, and clearing up to 100 MiB per request
    // first cost 6-8 % of the broker's CPU under produce load (bench/RESULTS.md).
    auto frame = std::make_shared<request_frame>(n);
    size_t have = std::min(n, _read_end - _read_pos - 4);
    if (have < n && 4 + n > direct_read_min_bytes) {
      // A large frame, not all here: its buffered prefix is copied once and the rest read
      // straight into it, so a big produce request is not copied through the read buffer.
      std::memcpy(frame->data.get(), _read_buf.get() + _read_pos + 4, have);
      _read_pos = _read_end = 0;
      co_await asio::async_read(_socket, asio::buffer(frame->data.get() + have, n - have),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    } else {
      while (_read_end - _read_pos < 4 + n) {
        ec = co_await read_more();
        if (ec) break;
      }
      if (ec) break;
      std::memcpy(frame->data.get(), _read_buf.get() + _read_pos + 4, n);
      _read_pos += 4 + n;
      if (_read_pos == _read_end) _read_pos = _read_end = 0;
    }
    auto s = std::make_shared<slot>();
    s->request_bytes = frame->size;
    if (load_be<int16_t>(frame->data.get()) == static_cast<int16_t>(api_key::produce)) {
      s->append_ticket = _append_order.take_ticket();
    }
    _in_flight_bytes += s->request_bytes;
    _slots.push_back(s);
    asio::co_spawn(_socket.get_executor(), handle(frame, s), asio::detached);
  }
  // Let the writer drain what is already answered, then close. With nothing left in _slots
  // the writer may still be sending answers it took from there: it closes when that ends.
  _reader_done = true;
  if (_slots.empty()) {
    if (!_writing) close();
  } else {
    auto last = _slots.back();
    last->close_after = true;
    _writer_wake.cancel();
  }
}

asio::awaitable<std::error_code> connection::read_more() {
  // Only an incomplete frame (under direct_read_min_bytes) is left when we read, so this move
  // is short, and the frame then fits in the buffer.
  if (_read_pos > 0) {
    std::memmove(_read_buf.get(), _read_buf.get() + _read_pos, _read_end - _read_pos);
    _read_end -= _read_pos;
    _read_pos = 0;
  }
  std::error_code ec;
  // A read that does not fill the buffer tells Asio the socket is drained, so the next read
  // waits for readiness at once instead of trying a recv that would fail with EAGAIN.
  size_t n = co_await _socket.async_read_some(
      asio::buffer(_read_buf.get() + _read_end, read_buffer_bytes - _read_end),
      asio::redirect_error(asio::use_awaitable, ec));
  _read_end += n;
  co_return ec;
}

asio::awaitable<void> connection::write_loop() {
  auto self = shared_from_this();
  // Reused across turns. `gathered` keeps the slots (and so their encoded bytes) alive while
  // the write is in progress; `inlined` holds the small fetch responses read from files.
  std::vector<std::shared_ptr<slot>> gathered;
  std::vector<byte_buffer> inlined;
  std::vector<asio::const_buffer> iov;
  gathered.reserve(max_gather_buffers);
  inlined.reserve(max_gather_buffers);  // no reallocation: iov points into its elements
  iov.reserve(max_gather_buffers);
  while (!_closed) {
    if (_slots.empty() || !_slots.front()->done) {
      std::error_code ec;
      _writer_wake.expires_at(asio::steady_timer::time_point::max());
      co_await _writer_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Take every answered response at the head, in order, up to the bounds: they go out in
    // one gathered write (one system call for a run of pipelined answers). A response with
    // large file ranges is sent on its own, after those before it, with sendfile.
    gathered.clear();
    inlined.clear();
    iov.clear();
    size_t bytes = 0;
    bool stop = false;        // close_after: nothing after this batch is sent
    bool short_read = false;  // an inlined file range came up short
    std::shared_ptr<slot> large;
    while (!_slots.empty() && _slots.front()->done && iov.size() < max_gather_buffers &&
           bytes < max_gather_bytes) {
      const auto& r = _slots.front()->response;
      const bool sends = _slots.front()->respond && !r.encoded.empty();
      const bool is_large =
          sends && !r.splices.empty() && r.size() - r.encoded.size() > inline_file_bytes;
      if (is_large && !iov.empty()) break;  // next turn, after the gathered ones
      auto s = _slots.front();
      _slots.pop_front();
      _in_flight_bytes -= s->request_bytes;
      _reader_wake.cancel();
      if (is_large) {
        large = std::move(s);
        stop = large->close_after;
        break;
      }
      if (sends) {
        if (s->response.splices.empty()) {
          iov.emplace_back(s->response.encoded.data(), s->response.encoded.size());
        } else {
          auto b = inline_response(s->response);
          if (!b) {
            short_read = true;
            break;
          }
          inlined.push_back(std::move(*b));
          iov.emplace_back(inlined.back().data(), inlined.back().size());
        }
        bytes += iov.back().size();
      }
      gathered.push_back(std::move(s));
      if (gathered.back()->close_after) {
        stop = true;
        break;
      }
    }
    std::error_code ec;
    _writing = true;  // the reader must not close the socket under these writes
    if (!iov.empty()) {
      co_await asio::async_write(_socket, iov, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && short_read) {
      // As when sendfile finds the file short: the range can no longer be sent whole.
      ec = std::make_error_code(std::errc::io_error);
    }
    if (!ec && large) ec = co_await write_response(large->response);
    _writing = false;
    if (ec) {
      // A file range that could not be sent whole leaves the client mid-frame (or without
      // its answer): the connection cannot continue (the client reconnects and fetches
      // again). Usually the client went away (EPIPE, reset), which is no news; debug level.
      log()->debug("{}: sending a response failed: {}; closing", _peer, ec.message());
      break;
    }
    if (stop) break;
    // The reader ended while we wrote, with nothing unanswered left: no more will come.
    if (_reader_done && _slots.empty()) break;
  }
  close();
}

std::optional<byte_buffer> connection::inline_response(const response_frame& r) {
  byte_buffer out(r.size());  // cleared first, wastefully, but it is 64 KiB at most
  size_t from = 0;
  size_t at = 0;
  for (const auto& sp : r.splices) {
    std::memcpy(out.data() + at, r.encoded.data() + from, sp.at - from);
    at += sp.at - from;
    from = sp.at;
    // Fetch is the only API with external bytes, and they are always file ranges.
    const auto& slice = static_cast<const file_range&>(*sp.bytes).slice;
    auto size = static_cast<size_t>(slice.size);
    auto n = slice.file->read_at(slice.position, mutable_bytes(out.data() + at, size));
    if (!n || *n != size) return std::nullopt;  // an I/O error, or truncated under us
    at += size;
  }
  std::memcpy(out.data() + at, r.encoded.data() + from, r.encoded.size() - from);
  return out;
}

asio::awaitable<std::error_code> connection::write_response(const response_frame& r) {
  // A response with file ranges goes out in pieces (bytes, sendfile, bytes). With TCP_NODELAY
  // each piece left as a segment of its own, and the client woke for each: a one-record Fetch
  // answer was three segments. Corked, the pieces leave as full segments and the rest when we
  // uncork, right after the last piece.
  const bool cork = !r.splices.empty();
  auto set_cork = [this](int on) {
    ::setsockopt(_socket.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  };
  if (cork) set_cork(1);
  auto ec = co_await write_pieces(r);
  if (cork && !ec) set_cork(0);
  co_return ec;
}

asio::awaitable<std::error_code> connection::write_pieces(const response_frame& r) {
  std::error_code ec;
  size_t from = 0;
  for (const auto& sp : r.splices) {
    if (sp.at > from) {
      co_await asio::async_write(_socket, asio::buffer(r.encoded.data() + from, sp.at - from),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
    }
    from = sp.at;
    // Fetch is the only API with external bytes, and they are always file ranges.
    const auto& range = static_cast<const file_range&>(*sp.bytes);
    ec = co_await send_file_range(range.slice);
    if (ec) co_return ec;
  }
  if (r.encoded.size() > from) {
    co_await asio::async_write(_socket,
                               asio::buffer(r.encoded.data() + from, r.encoded.size() - from),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

asio::awaitable<std::error_code> connection::send_file_range(const storage::file_slice& slice) {
  std::error_code ec;
  auto& file = *slice.file;
  uint64_t position = slice.position;
  uint64_t size = slice.size;
  int in = file.native_handle();
  if (in >= 0) {
    // sendfile on a non-blocking socket: send what the socket buffer takes, wait until it is
    // writable again, repeat. Only the write side waits, so reads continue meanwhile.
    // Once per connection: setting it is an ioctl, which was one more syscall per Fetch
    // response (strace under B4: as many ioctl as sendfile calls). The getter reads Asio's
    // own flag.
    if (!_socket.native_non_blocking()) {
      _socket.native_non_blocking(true, ec);
      if (ec) co_return ec;
    }
    auto off = static_cast<off_t>(position);
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::sendfile(_socket.native_handle(), in, &off,
                             static_cast<size_t>(std::min<uint64_t>(left, 1u << 30)));
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) {
        // The file ends before the range does: it was truncated under us.
        co_return std::make_error_code(std::errc::io_error);
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        co_return std::error_code(errno, std::system_category());
      }
      co_await _socket.async_wait(asio::ip::tcp::socket::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
    }
    co_return ec;
  }
  // No descriptor (a test double): read and write in chunks, so memory stays bounded.
  constexpr uint64_t chunk = 256 * 1024;
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(std::min(size, chunk)));
  while (size > 0) {
    auto want = static_cast<size_t>(std::min(size, chunk));
    auto n = file.read_at(position, mutable_bytes(buf.get(), want));
    if (!n) co_return n.error().code;
    if (*n != want) co_return std::make_error_code(std::errc::io_error);
    co_await asio::async_write(_socket, asio::buffer(buf.get(), want),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    position += want;
    size -= want;
  }
  co_return ec;
}

asio::awaitable<void> connection::handle(std::shared_ptr<request_frame> frame,
                                         std::shared_ptr<slot> s) {
  auto self = shared_from_this();
  auto hdr = parse_request_header(frame->bytes());
  served out;
  if (!hdr) {
    out.failure = hdr.error().message();
  } else {
    int key = static_cast<int>(hdr->key);
    auto fn = key >= 0 && key < static_cast<int>(serve_table.size()) ? serve_table[key] : nullptr;
    if (!fn) {
      out.failure = "unsupported API key " + std::to_string(key);
    } else {
      request_context ctx{_srv, *hdr, _socket.get_executor()};
      if (s->append_ticket) {
        ctx.order = &_append_order;
        ctx.ticket = *s->append_ticket;
      }
      co_await fn(ctx, frame->bytes(), out);
    }
  }
  // Whatever happened, this request no longer holds up later ones.
  if (s->append_ticket) _append_order.abandon(*s->append_ticket);
  if (!out.failure.empty()) {
    // Kafka closes the connection on a request it cannot parse or does not serve; the
    // client reconnects and renegotiates (kafka-compat.md §2.3).
    connection_metrics::get().malformed.inc();
    log()->warn("{}: {}; closing the connection", _peer, out.failure);
    s->respond = false;
    s->close_after = true;
  } else {
    s->response = std::move(out.response);
    s->respond = out.respond;
    s->close_after = out.close;
  }
  s->done = true;
  _writer_wake.cancel();
}

}  // namespace spate::kafka
