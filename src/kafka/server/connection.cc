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
  while (!_closed) {
    // Back-pressure: stop reading while the client has too much outstanding.
    while (!_closed && (_slots.size() >= cfg.max_in_flight_requests ||
                        _in_flight_bytes >= cfg.max_in_flight_bytes)) {
      std::error_code ec;
      _reader_wake.expires_at(asio::steady_timer::time_point::max());
      co_await _reader_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (_closed) break;
    uint8_t size_buf[4];
    std::error_code ec;
    co_await asio::async_read(_socket, asio::buffer(size_buf),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // the client went away
    int32_t size = load_be<int32_t>(size_buf);
    if (size < 8 || static_cast<size_t>(size) > cfg.max_frame_bytes) {
      connection_metrics::get().oversized.inc();
      log()->warn("{}: frame of {} bytes outside [8, {}]; closing", _peer, size,
                  cfg.max_frame_bytes);
      break;
    }
    // Not zero-filled: the read overwrites every byte, and clearing up to 100 MiB per request
    // first cost 6-8 % of the broker's CPU under produce load (bench/RESULTS.md).
    auto frame = std::make_shared<request_frame>(static_cast<size_t>(size));
    co_await asio::async_read(_socket, asio::buffer(frame->data.get(), frame->size),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    auto s = std::make_shared<slot>();
    s->request_bytes = frame->size;
    if (load_be<int16_t>(frame->data.get()) == static_cast<int16_t>(api_key::produce)) {
      s->append_ticket = _append_order.take_ticket();
    }
    _in_flight_bytes += s->request_bytes;
    _slots.push_back(s);
    asio::co_spawn(_socket.get_executor(), handle(frame, s), asio::detached);
  }
  // Let the writer drain what is already answered, then close.
  if (_slots.empty()) {
    close();
  } else {
    auto last = _slots.back();
    last->close_after = true;
    _writer_wake.cancel();
  }
}

asio::awaitable<void> connection::write_loop() {
  auto self = shared_from_this();
  while (!_closed) {
    if (_slots.empty() || !_slots.front()->done) {
      std::error_code ec;
      _writer_wake.expires_at(asio::steady_timer::time_point::max());
      co_await _writer_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto s = _slots.front();
    _slots.pop_front();
    _in_flight_bytes -= s->request_bytes;
    _reader_wake.cancel();
    if (s->respond && !s->response.encoded.empty()) {
      auto ec = co_await write_response(s->response);
      if (ec) {
        // A file range that could not be sent whole leaves the client mid-frame: the
        // connection cannot continue (the client reconnects and fetches again).
        // Usually the client went away (EPIPE, reset), which is no news; debug level.
        log()->debug("{}: sending a response failed: {}; closing", _peer, ec.message());
        break;
      }
    }
    if (s->close_after) break;
  }
  close();
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
