// SPDX-License-Identifier: Apache-2.0
// Record parsing and common-field extraction. RapidJSON 1.1.0 rules (DESIGN.md section 5): typed
// getters only, depth capped before the DOM is built, pooled allocator cleared per record.
#include "cloudtrail/record_parser.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cloudtrail/detail.hpp"

namespace trailhound::cloudtrail {
using detail::document;
using detail::pool_allocator;
using detail::value;
namespace {

th_str str_of(const value& v) noexcept {
  if (!v.IsString()) return th_str{nullptr, 0};
  return th_str{v.GetString(), v.GetStringLength()};
}

bool key_is(const value& key, const char* lit, size_t n) noexcept {
  return key.GetStringLength() == n && std::memcmp(key.GetString(), lit, n) == 0;
}
#define KEY_IS(k, lit) key_is(k, lit, sizeof(lit) - 1)

int32_t flag_of(const value& v) noexcept {
  if (v.IsBool()) return v.GetBool() ? TH_FLAG_TRUE : TH_FLAG_FALSE;
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    if (s == "true") return TH_FLAG_TRUE;
    if (s == "false") return TH_FLAG_FALSE;
  }
  return TH_FLAG_UNKNOWN;
}

bool ends_with(th_str s, std::string_view suffix) noexcept {
  return s.len >= suffix.size() &&
         std::memcmp(s.ptr + s.len - suffix.size(), suffix.data(), suffix.size()) == 0;
}
bool equals(th_str s, std::string_view lit) noexcept {
  return s.len == lit.size() && (s.len == 0 || std::memcmp(s.ptr, lit.data(), s.len) == 0);
}

void extract_session_context(const value& ctx, th_event& ev) noexcept {
  if (!ctx.IsObject()) return;
  for (auto m = ctx.MemberBegin(); m != ctx.MemberEnd(); ++m) {
    if (KEY_IS(m->name, "attributes") && m->value.IsObject()) {
      auto it = m->value.FindMember("mfaAuthenticated");
      if (it != m->value.MemberEnd()) ev.mfa_authenticated = flag_of(it->value);
    } else if (KEY_IS(m->name, "sessionIssuer") && m->value.IsObject()) {
      auto arn = m->value.FindMember("arn");
      if (arn != m->value.MemberEnd()) ev.session_issuer_arn = str_of(arn->value);
      if (ev.principal_user_name.len == 0) {
        auto un = m->value.FindMember("userName");
        if (un != m->value.MemberEnd()) ev.principal_user_name = str_of(un->value);
      }
    }
  }
}

void extract_identity(const value& id, th_event& ev) noexcept {
  if (!id.IsObject()) return;
  const value* session_context = nullptr;
  for (auto m = id.MemberBegin(); m != id.MemberEnd(); ++m) {
    const value& k = m->name;
    if (KEY_IS(k, "type"))
      ev.identity_type = str_of(m->value);
    else if (KEY_IS(k, "arn"))
      ev.principal_arn = str_of(m->value);
    else if (KEY_IS(k, "accountId"))
      ev.principal_account_id = str_of(m->value);
    else if (KEY_IS(k, "userName"))
      ev.principal_user_name = str_of(m->value);
    else if (KEY_IS(k, "accessKeyId"))
      ev.access_key_id = str_of(m->value);
    else if (KEY_IS(k, "principalId"))
      ev.principal_id = str_of(m->value);
    else if (KEY_IS(k, "invokedBy"))
      ev.invoked_by = str_of(m->value);
    else if (KEY_IS(k, "sessionContext"))
      session_context = &m->value;
  }
  // After the loop, so userIdentity.userName wins over sessionIssuer.userName whatever the order.
  if (session_context) extract_session_context(*session_context, ev);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

bool parse_event_time(std::string_view s, int64_t& epoch_ms) noexcept {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int64_t offset_s = 0;
  if (pos < s.size()) {
    char c = s[pos];
    if (c == 'Z' || c == 'z') {
      ++pos;
    } else if (c == '+' || c == '-') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh)) return false;
      size_t mpos = pos + 3;
      if (mpos < s.size() && s[mpos] == ':') ++mpos;
      if (!digits(s, mpos, 2, om)) return false;
      offset_s = (oh * 3600 + om * 60) * (c == '+' ? 1 : -1);
      pos = mpos + 2;
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  epoch_ms = secs * 1000 + ms;
  return true;
}

std::string format_time(int64_t epoch_ms) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int ms = static_cast<int>(epoch_ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                        static_cast<int>(rem % 3600 / 60), static_cast<int>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (ms) {
    std::snprintf(buf, sizeof buf, ".%03d", ms);
    out += buf;
  }
  out += 'Z';
  return out;
}

uint32_t json_depth(std::string_view text, uint32_t limit) noexcept {
  uint32_t depth = 0, max_depth = 0;
  bool in_string = false;
  const char* p = text.data();
  const char* end = p + text.size();
  for (; p < end; ++p) {
    char c = *p;
    if (in_string) {
      if (c == '\\')
        ++p;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) return max_depth;
      }
    } else if (c == '}' || c == ']') {
      if (depth) --depth;
    }
  }
  return max_depth;
}

namespace detail {
bool extract_fields(const value& d, th_event& ev, parse_error& err) noexcept {
  ev.root = reinterpret_cast<const th_value*>(&d);

  bool has_time_field = false;
  for (auto m = d.MemberBegin(); m != d.MemberEnd(); ++m) {
    const value& k = m->name;
    const value& v = m->value;
    switch (k.GetStringLength() ? k.GetString()[0] : 0) {
      case 'e':
        if (KEY_IS(k, "eventID"))
          ev.event_id = str_of(v);
        else if (KEY_IS(k, "eventTime")) {
          has_time_field = true;
          if (!v.IsString() ||
              !parse_event_time(std::string_view(v.GetString(), v.GetStringLength()),
                                ev.event_time_ms)) {
            err = {0, "eventTime is not an ISO 8601 timestamp"};
            return false;
          }
        } else if (KEY_IS(k, "eventSource"))
          ev.event_source = str_of(v);
        else if (KEY_IS(k, "eventName"))
          ev.event_name = str_of(v);
        else if (KEY_IS(k, "eventType"))
          ev.event_type = str_of(v);
        else if (KEY_IS(k, "errorCode"))
          ev.error_code = str_of(v);
        else if (KEY_IS(k, "errorMessage"))
          ev.error_message = str_of(v);
        else if (KEY_IS(k, "eventCategory"))
          ev.event_category = str_of(v);
        break;
      case 'a':
        if (KEY_IS(k, "awsRegion")) ev.aws_region = str_of(v);
        break;
      case 's':
        if (KEY_IS(k, "sourceIPAddress")) ev.source_ip = str_of(v);
        break;
      case 'u':
        if (KEY_IS(k, "userAgent"))
          ev.user_agent = str_of(v);
        else if (KEY_IS(k, "userIdentity"))
          extract_identity(v, ev);
        break;
      case 'r':
        if (KEY_IS(k, "recipientAccountId"))
          ev.recipient_account_id = str_of(v);
        else if (KEY_IS(k, "readOnly"))
          ev.read_only = flag_of(v);
        break;
      case 'm':
        if (KEY_IS(k, "managementEvent")) ev.management_event = flag_of(v);
        break;
      default:
        break;
    }
  }
  if (ev.event_name.len == 0) {
    err = {0, "missing or non-string eventName"};
    return false;
  }
  if (!has_time_field) {
    err = {0, "missing eventTime"};
    return false;
  }
  // "AWS Internal" is not enough: console actions of humans (root included) carry it too.
  if (equals(ev.identity_type, "AWSService") || ev.invoked_by.len != 0 ||
      ends_with(ev.source_ip, ".amazonaws.com"))
    ev.aws_service_origin = TH_FLAG_TRUE;
  return true;
}

#if !defined(__SSE2__)
namespace {
constexpr uint64_t k_ones = 0x0101010101010101ull;
// A byte of w in 0x1A..0x1F (exact when no byte has its high bit set; "hasbetween" of Bit
// Twiddling Hacks with m = 0x19, n = 0x20).
inline uint64_t misread_control_bytes(uint64_t w) noexcept {
  const uint64_t low7 = w & (k_ones * 127);
  return (k_ones * (127 + 0x20) - low7) & ~w & (low7 + k_ones * (127 - 0x19)) & (k_ones * 128);
}
}  // namespace
#endif

bool plain_ascii(std::string_view text) noexcept {
  const char* p = text.data();
  const char* end = p + text.size();
  bool ok = true;
#if defined(__SSE2__)
  // Signed bytes: 0x19 < b < 0x20 holds exactly for 0x1A..0x1F (0x80..0xFF are negative).
  const __m128i above = _mm_set1_epi8(0x19);
  const __m128i below = _mm_set1_epi8(0x20);
  const auto load = [](const char* at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  };
  __m128i bad = _mm_setzero_si128();
  for (; end - p >= 64; p += 64) {
    const __m128i a = load(p), b = load(p + 16), c = load(p + 32), d = load(p + 48);
    // First the cheap question, b < 0x20 (signed): no byte above 0x7F nor below 0x20. Only the
    // blocks with a newline, a tab or a non-ASCII byte need the exact test.
    const __m128i low =
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(a, below), _mm_cmplt_epi8(b, below)),
                     _mm_or_si128(_mm_cmplt_epi8(c, below), _mm_cmplt_epi8(d, below)));
    if (_mm_movemask_epi8(low) == 0) continue;
    for (const __m128i x : {a, b, c, d}) {
      bad = _mm_or_si128(bad, x);  // high bits
      bad = _mm_or_si128(bad, _mm_and_si128(_mm_cmpgt_epi8(x, above), _mm_cmplt_epi8(x, below)));
    }
  }
  ok = _mm_movemask_epi8(bad) == 0;
#else
  uint64_t high = 0;
  uint64_t ctl = 0;
  for (; p + 32 <= end; p += 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    high |= w[0] | w[1] | w[2] | w[3];
    ctl |= misread_control_bytes(w[0]) | misread_control_bytes(w[1]) | misread_control_bytes(w[2]) |
           misread_control_bytes(w[3]);
  }
  ok = (high & (k_ones * 128)) == 0 && ctl == 0;
#endif
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    ok = ok && c < 0x80 && !(c >= 0x1A && c <= 0x1F);
  }
  return ok;
}

void init_event(std::string_view raw, th_event& ev) noexcept {
  std::memset(&ev, 0, sizeof ev);
  ev.struct_size = sizeof ev;
  ev.mfa_authenticated = ev.read_only = ev.management_event = TH_FLAG_UNKNOWN;
  ev.aws_service_origin = TH_FLAG_FALSE;
  ev.raw_json = th_str{raw.data(), raw.size()};
}

}  // namespace detail

struct record_parser::impl {
  static constexpr size_t POOL_BYTES = 256 * 1024;
  static constexpr size_t STACK_BYTES = 16 * 1024;
  std::vector<char> pool_buffer = std::vector<char>(POOL_BYTES);
  pool_allocator value_alloc{pool_buffer.data(), pool_buffer.size()};
  detail::reused_stack_allocator stack_alloc;
  std::string scratch;
  document* doc = nullptr;
  alignas(document) unsigned char doc_storage[sizeof(document)];
  parse_limits limits;

  void release() noexcept {
    if (doc) {
      doc->~document();
      doc = nullptr;
    }
    value_alloc.Clear();
  }
};

record_parser::record_parser() : impl_(std::make_unique<impl>()) {}
record_parser::~record_parser() { impl_->release(); }

void record_parser::reset() noexcept { impl_->release(); }
void record_parser::set_limits(const parse_limits& limits) noexcept { impl_->limits = limits; }

bool record_parser::parse(std::string_view raw, th_event& ev, parse_error& err) noexcept {
  impl& s = *impl_;
  s.release();
  detail::init_event(raw, ev);

  if (!s.limits.depth_prechecked) {
    uint32_t depth = json_depth(raw, s.limits.max_depth);
    if (depth > s.limits.max_depth) {
      err = {0, "nesting deeper than " + std::to_string(s.limits.max_depth)};
      return false;
    }
  }
  try {
    s.scratch.reserve(raw.size() + detail::PARSE_PADDING);  // room for SIMD over-reads
    s.scratch.assign(raw.data(), raw.size());
  } catch (...) {
    err = {0, "out of memory copying the record"};
    return false;
  }
  s.doc = new (s.doc_storage) document(&s.value_alloc, impl::STACK_BYTES, &s.stack_alloc);
  document& d = *s.doc;
  if (detail::plain_ascii(raw))
    detail::parse_padded<detail::PARSE_FLAGS_ASCII>(d, s.scratch.data());
  else
    detail::parse_padded<detail::PARSE_FLAGS>(d, s.scratch.data());
  if (d.HasParseError()) {
    err = {d.GetErrorOffset(), rapidjson::GetParseError_En(d.GetParseError())};
    return false;
  }
  if (!d.IsObject()) {
    err = {0, "record is not a JSON object"};
    return false;
  }
  return detail::extract_fields(d, ev, err);
}

}  // namespace trailhound::cloudtrail
