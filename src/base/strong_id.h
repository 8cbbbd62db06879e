// strong<Tag, Rep>: a distinct type for each piece of vocabulary (offset, partition id,
// producer id, epoch, timestamp), so that passing a partition where an offset belongs does not
// compile. Comparisons are defined; arithmetic only where the vocabulary has it (offsets).
//
//   spate::offset o{42};
//   o = o + 1;              // offsets advance
//   int64_t raw = o.value;  // at a format or protocol boundary
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>

namespace spate {

template <class Tag, class Rep>
struct strong {
  using rep = Rep;
  Rep value{};

  constexpr strong() = default;
  constexpr explicit strong(Rep v) : value(v) {}
  constexpr auto operator<=>(const strong&) const = default;
  static constexpr strong min() { return strong(std::numeric_limits<Rep>::min()); }
  static constexpr strong max() { return strong(std::numeric_limits<Rep>::max()); }
};

struct offset_tag {};
struct partition_tag {};
struct producer_id_tag {};
struct producer_epoch_tag {};
struct timestamp_tag {};

// A position in a partition's log: the index of one record, counting from 0.
struct offset : strong<offset_tag, int64_t> {
  using strong::strong;
  constexpr offset operator+(int64_t d) const { return offset(value + d); }
  constexpr offset operator-(int64_t d) const { return offset(value - d); }
  constexpr int64_t operator-(offset o) const { return value - o.value; }
  constexpr offset& operator+=(int64_t d) {
    value += d;
    return *this;
  }
};

using partition_id = strong<partition_tag, int32_t>;
using producer_id = strong<producer_id_tag, int64_t>;
using producer_epoch = strong<producer_epoch_tag, int16_t>;

// Milliseconds since the Unix epoch, as Kafka record timestamps are.
using timestamp_ms = strong<timestamp_tag, int64_t>;

}  // namespace spate

template <class Tag, class Rep>
struct std::hash<spate::strong<Tag, Rep>> {
  size_t operator()(const spate::strong<Tag, Rep>& s) const noexcept {
    return std::hash<Rep>()(s.value);
  }
};
template <>
struct std::hash<spate::offset> {
  size_t operator()(const spate::offset& s) const noexcept { return std::hash<int64_t>()(s.value); }
};
