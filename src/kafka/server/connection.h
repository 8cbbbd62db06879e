// One client connection. Requests are read in order and handled concurrently (so that, say,
// pipelined acks=all produces share one group-committed fdatasync), and their responses are
// written strictly in request order (kafka-compat.md §2.3). Memory is bounded: reading pauses
// while too many requests or bytes are in flight, so a client that stops reading cannot make
// us buffer without limit, and it only ever stalls itself.
//
// Threading: lives on one core's loop; every member is touched only there.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <optional>

#include "base/bytes.h"
#include "kafka/protocol/api.h"
#include "kafka/server/request_context.h"
#include "storage/segment.h"

namespace spate::kafka {

class server;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(server& srv, asio::ip::tcp::socket socket);
  // Runs the connection until the client goes away or breaks the protocol.
  void start();

 private:
  struct slot {
    response_frame response;
    bool done = false;
    bool respond = true;
    bool close_after = false;
    size_t request_bytes = 0;
    std::optional<uint64_t> append_ticket;  // Produce requests, in arrival order
  };

  asio::awaitable<void> read_loop();
  // One recv into the read buffer's free tail (moving the unconsumed bytes to its start first).
  asio::awaitable<std::error_code> read_more();
  asio::awaitable<void> write_loop();
  // A response with small file ranges as one contiguous buffer (the ranges read with pread),
  // so it goes out in the same gathered write as its neighbours; empty on a short read.
  std::optional<byte_buffer> inline_response(const response_frame& r);
  // Writes one response: its encoded bytes, with each splice's file range sent in between.
  asio::awaitable<std::error_code> write_response(const response_frame& r);
  asio::awaitable<std::error_code> write_pieces(const response_frame& r);
  // Sends a slice of a segment file: sendfile when the file has a descriptor, else bounded
  // reads and writes.
  asio::awaitable<std::error_code> send_file_range(const storage::file_slice& slice);
  // One request's bytes after the size prefix; decoded requests point into it (produce
  // batches are appended from here without a copy).
  struct request_frame {
    explicit request_frame(size_t n)
        : data(std::make_unique_for_overwrite<uint8_t[]>(n)), size(n) {}
    std::unique_ptr<uint8_t[]> data;
    size_t size;
    mutable_bytes bytes() { return {data.get(), size}; }
  };
  asio::awaitable<void> handle(std::shared_ptr<request_frame> frame, std::shared_ptr<slot> s);
  void close();

  server& _srv;
  asio::ip::tcp::socket _socket;
  std::string _peer;
  asio::steady_timer _writer_wake;
  asio::steady_timer _reader_wake;
  std::deque<std::shared_ptr<slot>> _slots;
  // Bytes received but not yet carved into frames: [_read_pos, _read_end) of _read_buf. One
  // recv fills it with as many pipelined frames as have arrived (see read_loop).
  std::unique_ptr<uint8_t[]> _read_buf;
  size_t _read_pos = 0;
  size_t _read_end = 0;
  size_t _in_flight_bytes = 0;
  bool _closed = false;
  bool _reader_done = false;  // read_loop ended (EOF, error, bad frame): nothing more comes
  bool _writing = false;      // write_loop is sending answers it took out of _slots
  append_order _append_order;
};

}  // namespace spate::kafka
