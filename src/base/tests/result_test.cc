#include "base/result.h"

#include <gtest/gtest.h>

#include "base/strong_id.h"

namespace spate {
namespace {

result<int> parse_positive(int v) {
  if (v <= 0) return error(std::make_error_code(std::errc::invalid_argument), "not positive");
  return v;
}

status twice(int v, int& out) {
  auto r = parse_positive(v);
  SPATE_TRY(r);
  out = r.value() * 2;
  return ok();
}

TEST(result, carries_value_or_error_and_propagates) {
  int out = 0;
  EXPECT_TRUE(twice(4, out));
  EXPECT_EQ(out, 8);
  auto s = twice(-1, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::invalid_argument);
  EXPECT_EQ(s.error().detail, "not positive");
  EXPECT_NE(s.error().with_context("reading x").message().find("reading x: not positive"),
            std::string::npos);
}

TEST(strong_id, offsets_have_arithmetic_and_order) {
  offset a(5);
  EXPECT_EQ((a + 3).value, 8);
  EXPECT_EQ(offset(10) - a, 5);
  EXPECT_LT(a, offset(6));
}

}  // namespace
}  // namespace spate
