#include "broker/metrics_http.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace spate::broker
