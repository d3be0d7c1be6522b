// SPDX-License-Identifier: Apache-2.0
// Matching helpers shared by config, findings and detectors' host side: globs and CIDR ranges.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailhound::config {

// Shell-style glob over the whole text: '*' matches any run of characters (including none, and
// including '/' and ':'), '?' exactly one character; everything else matches itself,
// case-sensitively. No character classes, no escapes. Linear memory, O(n*m) worst case.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

// An IPv4 or IPv6 network: address bytes (network order) masked to `prefix` bits.
struct cidr {
  enum class family : uint8_t { v4, v6 };

  family fam = family::v4;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
  uint8_t prefix = 0;               // 0..32 (v4) or 0..128 (v6)

  // "10.0.0.0/8", "2001:db8::/32"; a bare address is a host route (/32 or /128). Host bits
  // beyond the prefix are cleared ("10.1.2.3/8" parses as 10.0.0.0/8). nullopt on bad syntax.
  static std::optional<cidr> parse(std::string_view text) noexcept;
  // As parse(), but also rejects host bits set beyond the prefix ("10.1.2.3/8").
  static std::optional<cidr> parse_strict(std::string_view text) noexcept;

  // True when `ip` is a literal address inside this range. An IPv4-mapped IPv6 address
  // ("::ffff:10.1.2.3") is also checked as IPv4. Anything else (hostnames such as
  // "s3.amazonaws.com", "AWS Internal", empty) is never contained.
  bool contains_ip(std::string_view ip) const noexcept;
  // True when `other` is the same family and wholly inside this range.
  bool contains(const cidr& other) const noexcept;

  // Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32".
  std::string str() const;

  friend bool operator==(const cidr&, const cidr&) = default;
};

// A list of ranges (e.g. trusted_cidrs).
class cidr_set {
 public:
  cidr_set() = default;
  explicit cidr_set(std::vector<cidr> ranges) : ranges_(std::move(ranges)) {}

  void add(const cidr& range) { ranges_.push_back(range); }
  bool empty() const noexcept { return ranges_.empty(); }
  size_t size() const noexcept { return ranges_.size(); }
  const std::vector<cidr>& ranges() const noexcept { return ranges_; }

  // `ip_or_cidr` is an address inside any range, or a CIDR ("a/n") wholly inside one range.
  // False for an empty set and for text that is neither.
  bool contains_ip(std::string_view ip_or_cidr) const noexcept;

 private:
  std::vector<cidr> ranges_;
};

}  // namespace trailhound::config
