// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the behavioural (baseline) detector families: a compact versioned binary
// codec for save_state/load_state, IP address networks, and user agent families.
// Header-only, part of the SDK: plugins include <trailhound/baseline.hpp>.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailhound::baseline {

constexpr int64_t kHourMs = 3600 * 1000LL;
constexpr int64_t kDayMs = 24 * kHourMs;

inline bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
inline bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}

// Floor division of event time into hours (correct for times before 1970 too).
inline int64_t hour_of(int64_t ms) {
  return ms >= 0 ? ms / kHourMs : -((-ms + kHourMs - 1) / kHourMs);
}

// ISO 8601 UTC text of an epoch-milliseconds time ("2026-11-20T10:00:00Z").
inline std::string iso_time(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  // civil_from_days (H. Hinnant)
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

// FNV-1a, 64 bit: stable across runs and builds (it keys persisted state).
inline uint64_t hash64(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// ------------------------------------------------------------------------------------------
// State codec: varints (zigzag for signed), length-prefixed strings, raw doubles. The reader
// throws std::runtime_error on any truncation or overrun, which the host reports as corrupt state.
class writer {
 public:
  void u(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i(int64_t v) { u((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void s(std::string_view v) {
    u(v.size());
    out_.append(v.data(), v.size());
  }
  void d(double v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) fail();
      auto c = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    fail();
  }
  int64_t i() {
    uint64_t v = u();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::string s() {
    uint64_t n = u();
    if (n > in_.size() - pos_) fail();
    std::string v(in_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  double d() {
    if (in_.size() - pos_ < 8) fail();
    double v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  // A count of elements that follow, each at least `min_bytes` long: guards allocations.
  uint64_t count(uint64_t min_bytes = 1) {
    uint64_t n = u();
    if (min_bytes && n > (in_.size() - pos_) / min_bytes) fail();
    return n;
  }
  void expect(std::string_view magic) {
    if (in_.substr(pos_, magic.size()) != magic) fail();
    pos_ += magic.size();
  }
  bool done() const { return pos_ == in_.size(); }
  [[noreturn]] static void fail() { throw std::runtime_error("corrupt or truncated state"); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// Map entries in key order, so that the same state always saves to the same bytes.
template <class M>
std::vector<std::pair<const typename M::key_type*, const typename M::mapped_type*>> sorted_entries(
    const M& m) {
  std::vector<std::pair<const typename M::key_type*, const typename M::mapped_type*>> v;
  v.reserve(m.size());
  for (auto& [k, x] : m) v.emplace_back(&k, &x);
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
  return v;
}

// ------------------------------------------------------------------------------------------
// IP addresses
struct ip_addr {
  bool v6 = false;
  unsigned char b[16] = {};
};

// Parses a literal IPv4/IPv6 address (IPv4-mapped IPv6 becomes IPv4). False for anything else:
// service names ("ec2.amazonaws.com"), "AWS Internal", empty strings.
inline bool parse_ip(std::string_view text, ip_addr& out) {
  if (text.empty() || text.size() > 45) return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  if (inet_pton(AF_INET, buf, out.b) == 1) {
    out.v6 = false;
    return true;
  }
  unsigned char b6[16];
  if (inet_pton(AF_INET6, buf, b6) != 1) return false;
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b6, mapped, 12) == 0) {
    out.v6 = false;
    std::memcpy(out.b, b6 + 12, 4);
    return true;
  }
  out.v6 = true;
  std::memcpy(out.b, b6, 16);
  return true;
}

// Private, loopback, link-local, CGNAT and unique-local addresses: what VPC endpoints and
// AWS-internal paths show, never a source on the internet.
inline bool non_public(const ip_addr& a) {
  const unsigned char* b = a.b;
  if (!a.v6) {
    return b[0] == 10 || b[0] == 127 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64);
  }
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  for (int k = 0; k < 15; ++k)
    if (b[k]) return false;
  return true;  // :: and ::1
}

// The network of an address: /24 for IPv4, /48 for IPv6, as an exact 64-bit key.
inline uint64_t network_key(const ip_addr& a) {
  if (!a.v6)
    return (4ull << 60) | (static_cast<uint64_t>(a.b[0]) << 16) |
           (static_cast<uint64_t>(a.b[1]) << 8) | a.b[2];
  uint64_t k = 6ull << 60;
  for (int j = 0; j < 6; ++j) k |= static_cast<uint64_t>(a.b[j]) << (8 * (5 - j));
  return k;
}

inline std::string network_text(const ip_addr& a) {
  char buf[64];
  if (!a.v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.0/24", a.b[0], a.b[1], a.b[2]);
  } else {
    std::snprintf(buf, sizeof buf, "%x:%x:%x::/48", (a.b[0] << 8) | a.b[1], (a.b[2] << 8) | a.b[3],
                  (a.b[4] << 8) | a.b[5]);
  }
  return buf;
}

// ------------------------------------------------------------------------------------------
// User agent families. Never the full string: family, and the major version where one exists.
struct ua_family {
  std::string family;  // "" when the user agent says nothing useful
  std::string major;   // "2" for aws-cli/2.15.30; may be ""
  std::string text() const { return major.empty() ? family : family + "/" + major; }
};

inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Major version right after `token` + "/" in `ua` (case-insensitive search done by caller).
inline std::string major_after(std::string_view ua, size_t pos) {
  std::string out;
  while (pos < ua.size() && ua[pos] >= '0' && ua[pos] <= '9' && out.size() < 6) out += ua[pos++];
  return out;
}

inline ua_family classify_user_agent(std::string_view ua_raw) {
  ua_family f;
  if (ua_raw.empty()) return f;
  std::string ua = lower_ascii(ua_raw.substr(0, 512));
  auto version_of = [&](std::string_view token) -> std::string {
    size_t p = ua.find(token);
    if (p == std::string::npos) return "";
    p += token.size();
    if (p < ua.size() && ua[p] == '/') return major_after(ua, p + 1);
    return "";
  };
  struct rule {
    std::string_view needle, family;
  };
  // Order matters: tools that embed an SDK string come before the SDK.
  static const rule rules[] = {
      {"terraform", "terraform"},
      {"opentofu", "terraform"},
      {"pulumi", "pulumi"},
      {"aws-cdk", "aws-cdk"},
      {"s3 browser", "s3-browser"},
      {"cyberduck", "cyberduck"},
      {"rclone", "rclone"},
      {"s3cmd", "s3cmd"},
      {"winscp", "winscp"},
      {"cloudberry", "cloudberry"},
      {"awspowershell", "aws-powershell"},
      {"aws.tools", "aws-powershell"},
      {"aws-cli", "aws-cli"},
      {"boto3", "boto3"},
      {"botocore", "boto3"},
      {"aws-sdk-go-v2", "aws-sdk-go-v2"},
      {"aws-sdk-go", "aws-sdk-go"},
      {"aws-sdk-java", "aws-sdk-java"},
      {"aws-sdk-js", "aws-sdk-js"},
      {"aws-sdk-nodejs", "aws-sdk-js"},
      {"aws-sdk-dotnet", "aws-sdk-dotnet"},
      {"aws-sdk-ruby", "aws-sdk-ruby"},
      {"aws-sdk-php", "aws-sdk-php"},
      {"aws-sdk-rust", "aws-sdk-rust"},
      {"aws-sdk-cpp", "aws-sdk-cpp"},
      {"aws-sdk-kotlin", "aws-sdk-kotlin"},
      {"aws-sdk-swift", "aws-sdk-swift"},
      {"console.amazonaws.com", "console"},
      {"aws internal", "console"},
      {"mozilla/", "console"},
      {"python-requests", "python-requests"},
      {"curl/", "curl"},
      {"go-http-client", "go-http-client"},
  };
  for (const rule& r : rules) {
    if (ua.find(r.needle) == std::string::npos) continue;
    f.family = std::string(r.family);
    if (r.family == "console") return f;  // browser versions change every month: no version
    std::string_view tok = r.needle;
    if (tok.back() == '/') tok.remove_suffix(1);
    f.major = version_of(tok);
    if (r.family == "aws-sdk-go-v2") f.major.clear();
    return f;
  }
  // Unknown: the first product token, letters only, e.g. "myapp/1.2" -> "myapp".
  size_t end = 0;
  while (end < ua.size() && end < 32 && ua[end] != '/' && ua[end] != ' ' && ua[end] != '(') ++end;
  f.family = ua.substr(0, end);
  if (f.family.empty()) return f;
  if (end < ua.size() && ua[end] == '/') f.major = major_after(ua, end + 1);
  return f;
}

}  // namespace trailhound::baseline
