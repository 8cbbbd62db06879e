// Helpers shared by the protocol module's golden and round-trip tests: hand-written frames
// (hex, body_of), a field-by-field rendering of any described message (to_text) so that two
// messages compare with a readable diff, a filler that sets every field present in a version
// to a non-default value, and check_request / check_response, which check a hand-written
// frame in both directions (encode gives exactly these bytes; decoding them gives the message).
//
// Conventions of check_request / check_response: requests use correlation id 1 and client id
// "k"; responses use correlation id 2.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kafka/protocol/api.h"

namespace spate::kafka::protocol_test {

inline byte_buffer hex(std::initializer_list<int> bytes) {
  byte_buffer out;
  for (int b : bytes) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// The frame minus its size prefix, for decoding.
inline byte_buffer body_of(const byte_buffer& frame) {
  return byte_buffer(frame.begin() + 4, frame.end());
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// Renders every field of a message by name, whatever the version, so that two messages can be
// compared and a failure shows which field differs.
class text_visitor {
 public:
  template <class T>
  void operator()(T& field, const char* name, versions = {}) {
    out += name;
    out += '=';
    put(field);
    out += ' ';
  }

  template <class T>
  void put(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out += v ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      out += std::to_string(static_cast<int64_t>(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      out += '"' + v + '"';
    } else if constexpr (is_optional<T>::value) {
      if (v) {
        put(*v);
      } else {
        out += "null";
      }
    } else if constexpr (is_vector<T>::value) {
      out += '[';
      for (auto& e : v) {
        put(e);
        out += ',';
      }
      out += ']';
    } else if constexpr (std::is_same_v<T, bytes>) {
      put_hex(v.data);
    } else if constexpr (std::is_same_v<T, records>) {
      if (v.is_null()) {
        out += "null";
      } else {
        put_hex(v.data());
      }
    } else if constexpr (std::is_same_v<T, uuid>) {
      put_hex(v);
    } else {
      out += '{';
      v.describe(*this);
      out += '}';
    }
  }

  std::string out;

 private:
  void put_hex(bytes_view b) {
    static const char* digits = "0123456789abcdef";
    out += "0x";
    for (uint8_t c : b) {
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
};

template <class M>
std::string to_text(M& m) {
  text_visitor t;
  t.put(m);
  return t.out;
}

// Sets every field that exists in `version` to a value that differs from its default (and
// from the other fields): optionals are engaged, arrays hold two elements.
class filler {
 public:
  explicit filler(int16_t version) : _version(version) {}

  template <class T>
  void operator()(T& field, const char* /*name*/, versions v = {}) {
    if (v.contains(_version)) fill(field);
  }

  template <class T>
  void fill(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      v = !v;
    } else if constexpr (std::is_integral_v<T>) {
      T n = static_cast<T>(++_n * 7 + 1);
      v = n == v ? static_cast<T>(n ^ 1) : n;
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = "s" + std::to_string(++_n);
    } else if constexpr (is_optional<T>::value) {
      v.emplace();
      fill(*v);
    } else if constexpr (is_vector<T>::value) {
      v.resize(2);
      for (auto& e : v) fill(e);
    } else if constexpr (std::is_same_v<T, bytes>) {
      v.data = {0xb0, static_cast<uint8_t>(++_n)};
    } else if constexpr (std::is_same_v<T, records>) {
      v.view.reset();
      v.owned = byte_buffer{0xc0, static_cast<uint8_t>(++_n), 0xc1};
    } else if constexpr (std::is_same_v<T, uuid>) {
      for (auto& b : v) b = static_cast<uint8_t>(++_n);
    } else {
      v.describe(*this);
    }
  }

 private:
  int16_t _version;
  int _n = 0;
};

// Encodes `req` and compares with the hand-written frame; then decodes the hand-written frame
// and compares with `req`.
template <api A>
void check_request(int16_t version, typename A::request& req, const byte_buffer& expected) {
  SCOPED_TRACE(std::string(A::name) + " v" + std::to_string(version) + " request");
  EXPECT_EQ(encode_request<A>(version, 1, std::string("k"), req), expected);
  auto body = body_of(expected);
  auto hdr = parse_request_header(body);
  ASSERT_TRUE(hdr);
  EXPECT_EQ(hdr->key, A::key);
  EXPECT_EQ(hdr->version, version);
  EXPECT_EQ(hdr->correlation_id, 1);
  EXPECT_EQ(hdr->client_id, std::optional<std::string>("k"));
  typename A::request back;
  auto st = decode_request<A>(body, *hdr, back);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(to_text(back), to_text(req));
}

template <api A>
void check_response(int16_t version, typename A::response& resp, const byte_buffer& expected) {
  SCOPED_TRACE(std::string(A::name) + " v" + std::to_string(version) + " response");
  EXPECT_EQ(encode_response<A>(2, version, resp), expected);
  auto body = body_of(expected);
  int32_t corr = 0;
  typename A::response back;
  auto st = decode_response<A>(body, version, corr, back);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(corr, 2);
  EXPECT_EQ(to_text(back), to_text(resp));
}

}  // namespace spate::kafka::protocol_test
