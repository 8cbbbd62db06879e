// result<T>: the value of an operation that can fail in an expected way.
//
// Expected failures (a full disk, a corrupt batch, an unknown topic) are values, not exceptions:
// every fallible function returns result<T> and the caller must look at it ([[nodiscard]]).
// The error side is `error`: a std::error_code from the failing module's own category (each
// module declares an `errc` enum and a category, see storage/errc.h) plus a human-readable
// detail. Kafka error codes are produced from these only at the protocol edge.
//
//   result<offset> r = log.append(batch);
//   if (!r) return r.error();          // propagate
//   use(r.value());
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace spate {

// An expected failure: which one (code) and what exactly happened (detail).
struct error {
  std::error_code code;
  std::string detail;

  error() = default;
  error(std::error_code c, std::string d = {}) : code(c), detail(std::move(d)) {}
  template <class E>
  requires std::is_error_code_enum_v<E> error(E e, std::string d = {})
      : code(make_error_code(e)), detail(std::move(d)) {}

  // "detail: code message" — what logs and CLI messages print.
  std::string message() const {
    if (detail.empty()) return code.message();
    return detail + ": " + code.message();
  }
  // Adds context in front of the detail, keeping the code.
  error with_context(const std::string& context) const {
    return error(code, detail.empty() ? context : context + ": " + detail);
  }
};

// An error from errno (POSIX calls), with the call and path in the detail.
inline error errno_error(int err, std::string detail) {
  return error(std::error_code(err, std::generic_category()), std::move(detail));
}

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : _v(std::in_place_index<0>, std::move(value)) {}
  result(spate::error e) : _v(std::in_place_index<1>, std::move(e)) {}
  template <class E>
  requires std::is_error_code_enum_v<E> result(E e) : _v(std::in_place_index<1>, spate::error(e)) {}

  bool has_value() const { return _v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    SPATE_ASSERT(has_value());
    return std::get<0>(_v);
  }
  const T& value() const& {
    SPATE_ASSERT(has_value());
    return std::get<0>(_v);
  }
  T&& value() && {
    SPATE_ASSERT(has_value());
    return std::get<0>(std::move(_v));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // So that `std::move(*make())` and `*make()` on a temporary move the value out.
  T&& operator*() && { return std::move(*this).value(); }

  const spate::error& error_value() const& {
    SPATE_ASSERT(!has_value());
    return std::get<1>(_v);
  }
  // Named error() for symmetry with std::expected.
  const spate::error& error() const& { return error_value(); }
  spate::error&& error() && {
    SPATE_ASSERT(!has_value());
    return std::get<1>(std::move(_v));
  }

 private:
  std::variant<T, spate::error> _v;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(spate::error e) : _e(std::move(e)), _failed(true) {}
  template <class E>
  requires std::is_error_code_enum_v<E> result(E e) : _e(spate::error(e)), _failed(true) {}

  bool has_value() const { return !_failed; }
  explicit operator bool() const { return has_value(); }
  const spate::error& error() const& {
    SPATE_ASSERT(_failed);
    return _e;
  }
  spate::error&& error() && {
    SPATE_ASSERT(_failed);
    return std::move(_e);
  }

 private:
  spate::error _e;
  bool _failed = false;
};

using status = result<void>;

inline status ok() {
  return {};
}

}  // namespace spate

// Propagates the error of an expression returning result<...>; otherwise continues.
#define SPATE_TRY(expr)                                        \
  do {                                                         \
    auto&& spate_try_r_ = (expr);                              \
    if (!spate_try_r_) return std::move(spate_try_r_).error(); \
  } while (0)
