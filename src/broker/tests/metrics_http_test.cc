#include "broker/metrics_http.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <thread>

namespace spate::broker {
namespace {

int status_of(std::string_view head) {
  return parse_http_head(head).status;
}

TEST(metrics_http, serves_get_and_head_of_metrics) {
  auto r = parse_http_head("GET /metrics HTTP/1.1\r\nHost: localhost:9644\r\nAccept: */*");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(status_of("HEAD /metrics HTTP/1.0"), 200);
  EXPECT_EQ(status_of("GET /metrics?x=1&y HTTP/1.1"), 200);
  EXPECT_EQ(status_of("GET /metrics HTTP/1.1\nHost: bare-newlines"), 200);
  EXPECT_EQ(status_of("GET /metrics HTTP/1.1\r\nX-Empty:\r\nX-Tab:\ta\tb"), 200);
}

TEST(metrics_http, other_paths_and_methods) {
  EXPECT_EQ(status_of("GET / HTTP/1.1"), 404);
  EXPECT_EQ(status_of("GET /metrics/ HTTP/1.1"), 404);
  EXPECT_EQ(status_of("GET /Metrics HTTP/1.1"), 404);
  EXPECT_EQ(status_of("POST /metrics HTTP/1.1"), 405);
  EXPECT_EQ(status_of("get /metrics HTTP/1.1"), 405);  // methods are case-sensitive
  EXPECT_EQ(status_of("GET /metrics HTTP/2.0"), 505);
  EXPECT_EQ(status_of("GET /metrics HTTP/0.9"), 505);
}

TEST(metrics_http, malformed_heads_are_400) {
  for (std::string_view head : {
           "",
           "GET",
           "GET /metrics",
           "GET /metrics HTTP/1.1 ",
           "GET  /metrics HTTP/1.1",
           "GET metrics HTTP/1.1",
           "GET http://host/metrics HTTP/1.1",
           "GET /met rics HTTP/1.1",
           "G@T /metrics HTTP/1.1",
           "GET /metrics HTTP/1.x",
           "GET /metrics HTTX/1.1",
           "GET /metrics HTTP/1.1\r\nNoColon",
           "GET /metrics HTTP/1.1\r\n: value",
           "GET /metrics HTTP/1.1\r\nBad Name: v",
           "GET /metrics HTTP/1.1\r\nA: b\r\n folded",
           "GET /metrics HTTP/1.1\r\nA: b\x01",
           "GET /metrics HTTP/1.1\r\n\r\nA: b",
       }) {
    EXPECT_EQ(status_of(head), 400) << head;
  }
  EXPECT_EQ(status_of(std::string_view("GET /m\0trics HTTP/1.1", 21)), 400);
}

TEST(metrics_http, reasons) {
  EXPECT_EQ(http_reason(405), "Method Not Allowed");
  EXPECT_EQ(http_reason(431), "Request Header Fields Too Large");
}

// The whole server on a loop of its own, with a short deadline so that the 408 path runs.
class served : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_http_config cfg;
    cfg.port = 0;
    cfg.deadline = std::chrono::milliseconds(200);
    _server = std::make_unique<metrics_http_server>(
        cfg, _ctx, []() -> asio::awaitable<std::string> { co_return "# TYPE x counter\nx 1\n"; });
    ASSERT_TRUE(_server->start());
    _thread = std::thread([this] { _ctx.run(); });
  }
  void TearDown() override {
    _server->stop();
    _ctx.stop();
    _thread.join();
  }
  // Sends `request` (maybe nothing), then reads everything until the server closes.
  std::string exchange(std::string_view request) {
    asio::io_context client;
    asio::ip::tcp::socket s(client);
    s.connect({asio::ip::make_address("127.0.0.1"), _server->port()});
    if (!request.empty()) asio::write(s, asio::buffer(request));
    std::string got;
    std::error_code ec;
    asio::read(s, asio::dynamic_buffer(got), ec);  // until EOF
    return got;
  }

  asio::io_context _ctx{1};
  std::unique_ptr<metrics_http_server> _server;
  std::thread _thread;
};

TEST_F(served, answers_a_scrape) {
  auto got = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\n# TYPE x counter\nx 1\n"), std::string::npos) << got;
}

TEST_F(served, a_silent_client_gets_408_at_the_deadline) {
  EXPECT_EQ(exchange("").rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_EQ(exchange("GET /metr").rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
}

}  // namespace
}  // namespace spate::broker
