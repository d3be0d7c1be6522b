// SPDX-License-Identifier: Apache-2.0
// Glob matching and IPv4/IPv6 CIDR parsing and containment (inet_pton based).
#include "config/net.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace trailhound::config {

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Greedy with a single backtrack point: the last '*' seen. Correct for '*' and '?' only.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace detail {
namespace {

// Parses a literal address (no prefix) into `out`; returns its family.
std::optional<cidr::family> parse_address(std::string_view text,
                                          std::array<uint8_t, 16>& out) noexcept {
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out.fill(0);
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, out.data()) != 1) return std::nullopt;
    return cidr::family::v6;
  }
  if (inet_pton(AF_INET, buf, out.data()) != 1) return std::nullopt;
  return cidr::family::v4;
}

constexpr unsigned max_prefix(cidr::family f) noexcept { return f == cidr::family::v4 ? 32 : 128; }

// Clears every bit after the first `prefix` bits; returns true when any bit was set.
bool mask(std::array<uint8_t, 16>& bytes, unsigned prefix) noexcept {
  bool had_host_bits = false;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned keep = prefix >= (i + 1) * 8 ? 8 : (prefix > i * 8 ? prefix - i * 8 : 0);
    uint8_t m = keep == 0 ? 0 : static_cast<uint8_t>(0xFFu << (8 - keep));
    if (bytes[i] & ~m) had_host_bits = true;
    bytes[i] &= m;
  }
  return had_host_bits;
}

// Whether the first `prefix` bits of a and b are equal.
bool same_prefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b,
                 unsigned prefix) noexcept {
  unsigned full = prefix / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t m = static_cast<uint8_t>(0xFFu << (8 - rest));
  return (a[full] & m) == (b[full] & m);
}

std::optional<cidr> parse_cidr(std::string_view text, bool strict) noexcept {
  cidr c;
  std::string_view addr = text;
  std::optional<unsigned> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    unsigned n = 0;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return std::nullopt;
      n = n * 10 + static_cast<unsigned>(ch - '0');
    }
    prefix = n;
  }
  auto fam = parse_address(addr, c.bytes);
  if (!fam) return std::nullopt;
  c.fam = *fam;
  unsigned p = prefix.value_or(max_prefix(c.fam));
  if (p > max_prefix(c.fam)) return std::nullopt;
  c.prefix = static_cast<uint8_t>(p);
  if (mask(c.bytes, p) && strict) return std::nullopt;
  return c;
}

bool is_v4_mapped(const std::array<uint8_t, 16>& b) noexcept {
  for (int i = 0; i < 10; ++i)
    if (b[i] != 0) return false;
  return b[10] == 0xFF && b[11] == 0xFF;
}

// Whether the parsed address (f, b) lies inside r; IPv4-mapped IPv6 also matches IPv4 ranges.
bool contains_address(const cidr& r, cidr::family f, const std::array<uint8_t, 16>& b) noexcept {
  if (f == r.fam) return same_prefix(r.bytes, b, r.prefix);
  if (f == cidr::family::v6 && r.fam == cidr::family::v4 && is_v4_mapped(b)) {
    std::array<uint8_t, 16> v4{};
    std::memcpy(v4.data(), b.data() + 12, 4);
    return same_prefix(r.bytes, v4, r.prefix);
  }
  return false;
}

}  // namespace
}  // namespace detail

std::optional<cidr> cidr::parse(std::string_view text) noexcept {
  return detail::parse_cidr(text, false);
}

std::optional<cidr> cidr::parse_strict(std::string_view text) noexcept {
  return detail::parse_cidr(text, true);
}

bool cidr::contains_ip(std::string_view ip) const noexcept {
  std::array<uint8_t, 16> b{};
  auto f = detail::parse_address(ip, b);
  return f && detail::contains_address(*this, *f, b);
}

bool cidr::contains(const cidr& other) const noexcept {
  return other.fam == fam && other.prefix >= prefix &&
         detail::same_prefix(bytes, other.bytes, prefix);
}

std::string cidr::str() const {
  char buf[INET6_ADDRSTRLEN + 8] = {};
  inet_ntop(fam == family::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix);
}

bool cidr_set::contains_ip(std::string_view ip_or_cidr) const noexcept {
  if (ip_or_cidr.find('/') != std::string_view::npos) {
    auto c = cidr::parse(ip_or_cidr);
    if (!c) return false;
    for (const auto& r : ranges_)
      if (r.contains(*c)) return true;
    return false;
  }
  std::array<uint8_t, 16> b{};
  auto f = detail::parse_address(ip_or_cidr, b);
  if (!f) return false;
  for (const auto& r : ranges_)
    if (detail::contains_address(r, *f, b)) return true;
  return false;
}

}  // namespace trailhound::config
