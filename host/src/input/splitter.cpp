// SPDX-License-Identifier: Apache-2.0
// Format detection by content and record splitting: a hand-written byte scanner, no JSON DOM.
//
// The scanner tracks string/escape state and a bracket stack of at most limits::max_depth
// entries; beyond that it only counts, so absurd nesting costs constant stack. Outside strings
// it accepts only the bytes JSON allows there (structure, whitespace, number and literal
// characters): anything else, a raw newline in a string or a mismatched bracket is a structure
// error. After a structure error the splitter resynchronises on the next plausible record start
// (the first key of the records seen so far, `{"eventVersion"` by default, else a `{"` that
// follows `,` or `[`; for NDJSON the next line) so that one bad record loses only itself.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "input/detail.hpp"
#include "input/input.hpp"

namespace trailhound::input {

const char* format_name(file_format f) noexcept {
  switch (f) {
    case file_format::unknown:
      return "unknown";
    case file_format::cloudtrail:
      return "cloudtrail";
    case file_format::ndjson:
      return "ndjson";
    case file_format::json_array:
      return "json-array";
    case file_format::lookup_events:
      return "lookup-events";
    case file_format::digest:
      return "digest";
    case file_format::insights:
      return "insights";
  }
  return "unknown";
}

namespace detail {

std::atomic<bool> scalar_record_scanner{false};

namespace {

// ---------------------------------------------------------------------------------------------
// Byte classes

enum : uint8_t { c_skip = 0, c_quote, c_open, c_close, c_newline, c_bad };

struct class_tables {
  uint8_t outside[256];       // outside strings; newline is whitespace
  uint8_t outside_line[256];  // same, but a newline ends the line-mode record (NDJSON)
  uint8_t string_special[256];
  uint8_t scalar[256];  // characters of numbers and literals

  constexpr class_tables() : outside{}, outside_line{}, string_special{}, scalar{} {
    for (int i = 0; i < 256; ++i) outside[i] = c_bad;
    constexpr std::string_view ok = " \t\r\n:,0123456789+-.eEtrufalsn";
    for (char c : ok) outside[static_cast<uint8_t>(c)] = c_skip;
    outside[static_cast<uint8_t>('"')] = c_quote;
    outside[static_cast<uint8_t>('{')] = c_open;
    outside[static_cast<uint8_t>('[')] = c_open;
    outside[static_cast<uint8_t>('}')] = c_close;
    outside[static_cast<uint8_t>(']')] = c_close;
    for (int i = 0; i < 256; ++i) outside_line[i] = outside[i];
    outside_line[static_cast<uint8_t>('\n')] = c_newline;
    string_special[static_cast<uint8_t>('"')] = 1;
    string_special[static_cast<uint8_t>('\\')] = 1;
    string_special[static_cast<uint8_t>('\n')] = 1;
    for (int i = '0'; i <= '9'; ++i) scalar[i] = 1;
    for (int i = 'a'; i <= 'z'; ++i) scalar[i] = 1;
    for (int i = 'A'; i <= 'Z'; ++i) scalar[i] = 1;
    scalar[static_cast<uint8_t>('+')] = 1;
    scalar[static_cast<uint8_t>('-')] = 1;
    scalar[static_cast<uint8_t>('.')] = 1;
  }
};

constexpr class_tables k_tables{};

inline bool is_ws(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline const char* skip_ws(const char* p, const char* end) noexcept {
  while (p < end && is_ws(*p)) ++p;
  return p;
}

// First '"', '\\' or '\n' at or after p, or end.
inline const char* find_string_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i bslash = _mm_set1_epi8('\\');
  const __m128i newline = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                     _mm_cmpeq_epi8(v, newline));
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (bits != 0) return p + __builtin_ctz(bits);
    p += 16;
  }
#endif
  while (p < end && !k_tables.string_special[static_cast<uint8_t>(*p)]) ++p;
  return p;
}

// p is just after an opening quote. Returns the closing quote, a raw newline (an error), or end.
inline const char* skip_string_body(const char* p, const char* end) noexcept {
  for (;;) {
    p = find_string_special(p, end);
    if (p == end || *p != '\\') return p;
    if (end - p <= 2) return end;  // escape at the very end: the string is not closed
    p += 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Record scanner

enum class scan_status : uint8_t {
  ok,                 // stop is just after the closing brace
  truncated,          // end of data inside the record
  too_deep,           // deeper than max_depth; `closed` tells whether the end was found
  bad_char,           // byte not allowed outside a string, at stop
  mismatch,           // closing bracket of the wrong kind, at stop
  newline_in_string,  // raw newline inside a string, at stop
  newline_in_record,  // line mode: the line ended inside the record, at stop
};

struct scan_result {
  const char* stop;
  scan_status status;
  bool closed = false;
};

// Brace counting only (no kind check, no cap): for deep records and for skipping values.
// p is the next byte to examine with `depth` brackets open (0: p must be an opening bracket).
scan_result count_scan(const char* p, const char* end, uint64_t depth,
                       const uint8_t* cls) noexcept {
  while (p < end) {
    switch (cls[static_cast<uint8_t>(*p)]) {
      case c_skip:
        ++p;
        break;
      case c_quote:
        p = skip_string_body(p + 1, end);
        if (p == end || *p == '\n') return {p, scan_status::too_deep, false};
        ++p;
        break;
      case c_open:
        ++depth;
        ++p;
        break;
      case c_close:
        if (depth == 0) return {p, scan_status::too_deep, false};
        ++p;
        if (--depth == 0) return {p, scan_status::too_deep, true};
        break;
      default:
        return {p, scan_status::too_deep, false};
    }
  }
  return {end, scan_status::too_deep, false};
}

#if defined(__SSE2__)
// Bit i of each mask describes byte p[i] of a 64-byte block.
struct block_masks {
  uint64_t quote = 0;
  uint64_t backslash = 0;
  uint64_t newline = 0;
  uint64_t plain = 0;  // ':' ',' ' ': skipped outside strings in both modes
};

inline block_masks classify_block(const char* p) noexcept {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i bslash = _mm_set1_epi8('\\');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i space = _mm_set1_epi8(' ');
  __m128i v[4];
  for (int k = 0; k < 4; ++k) v[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
  auto mask = [&](auto&& hit) {
    return static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(hit(v[0])))) |
           static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(hit(v[1])))) << 16 |
           static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(hit(v[2])))) << 32 |
           static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(hit(v[3])))) << 48;
  };
  // Backslashes and newlines are rare: their positions only when there is one.
  auto any = [&](__m128i c) {
    return _mm_movemask_epi8(
               _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v[0], c), _mm_cmpeq_epi8(v[1], c)),
                            _mm_or_si128(_mm_cmpeq_epi8(v[2], c), _mm_cmpeq_epi8(v[3], c)))) != 0;
  };
  block_masks m;
  m.quote = mask([&](__m128i x) { return _mm_cmpeq_epi8(x, quote); });
  m.plain = mask([&](__m128i x) {
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, comma)),
                        _mm_cmpeq_epi8(x, space));
  });
  if (any(bslash)) m.backslash = mask([&](__m128i x) { return _mm_cmpeq_epi8(x, bslash); });
  if (any(newline)) m.newline = mask([&](__m128i x) { return _mm_cmpeq_epi8(x, newline); });
  return m;
}

// Bit i set when an odd number of bits at or below i are set: with x the unescaped quotes, the
// bytes inside strings (opening quote included, closing quote not).
inline uint64_t prefix_xor(uint64_t x) noexcept {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}
#endif

class record_scanner {
 public:
  explicit record_scanner(uint32_t max_depth)
      : max_depth_(max_depth == 0 ? 1 : max_depth), stack_(max_depth_, '\0') {}

  // s points at '{'. Finds the matching '}'.
  scan_result scan(const char* p, const char* end, bool line_mode) noexcept {
#if defined(__SSE2__)
    if (!scalar_record_scanner.load(std::memory_order_relaxed))
      return scan_blocks(p, end, line_mode);
#endif
    const uint8_t* cls = line_mode ? k_tables.outside_line : k_tables.outside;
    uint32_t depth = 0;
    scan_result r{end, scan_status::truncated};
    steps(p, end, end, depth, false, cls, r);
    return r;
  }

 private:
  // The byte-at-a-time scanner, resumable: from p (inside a string body when in_string, never
  // right after a backslash) with `depth` brackets open, until the record is decided (returns
  // true with r set) or until it stands outside any string at or past `limit` (returns false).
  bool steps(const char*& p, const char* end, const char* limit, uint32_t& depth, bool in_string,
             const uint8_t* cls, scan_result& r) noexcept {
    char* stack = stack_.data();
    if (in_string) {
      p = skip_string_body(p, end);
      if (p == end) return r = {end, scan_status::truncated}, true;
      if (*p == '\n') return r = {p, scan_status::newline_in_string}, true;
      ++p;
    }
    while (p < limit) {
      const char c = *p;
      switch (cls[static_cast<uint8_t>(c)]) {
        case c_skip:
          ++p;
          continue;
        case c_quote:
          p = skip_string_body(p + 1, end);
          if (p == end) return r = {end, scan_status::truncated}, true;
          if (*p == '\n') return r = {p, scan_status::newline_in_string}, true;
          ++p;
          continue;
        case c_open:
          if (depth == max_depth_) return r = count_scan(p, end, depth, cls), true;
          stack[depth++] = c;
          ++p;
          continue;
        case c_close:
          // '{' + 2 == '}' and '[' + 2 == ']'.
          if (depth == 0 || stack[depth - 1] + 2 != c) return r = {p, scan_status::mismatch}, true;
          ++p;
          if (--depth == 0) return r = {p, scan_status::ok}, true;
          continue;
        case c_newline:
          return r = {p, scan_status::newline_in_record}, true;
        default:
          return r = {p, scan_status::bad_char}, true;
      }
    }
    if (p >= end) return r = {end, scan_status::truncated}, true;
    return false;
  }

#if defined(__SSE2__)
  // The same decisions as steps(), 64 bytes at a time: string bodies are found with masks (a
  // running XOR of the quotes) instead of being walked, so only the bytes outside strings that
  // are not ':' ',' ' ' are looked at one by one. A block with a backslash (escapes, rare in
  // CloudTrail) and the last bytes of the text go through steps().
  scan_result scan_blocks(const char* p, const char* end, bool line_mode) noexcept {
    const uint8_t* cls = line_mode ? k_tables.outside_line : k_tables.outside;
    char* stack = stack_.data();
    uint32_t depth = 0;
    uint64_t in_string = 0;  // all ones when the block starts inside a string
    scan_result r{end, scan_status::truncated};
    while (end - p >= 64) {
      const block_masks m = classify_block(p);
      if (m.backslash) {
        if (steps(p, end, p + 64, depth, in_string != 0, cls, r)) return r;
        in_string = 0;  // steps() stops outside strings
        continue;
      }
      const uint64_t inside = prefix_xor(m.quote) ^ in_string;
      uint64_t todo = (m.newline & inside) | ~(inside | m.quote | m.plain);
      while (todo) {
        const int i = __builtin_ctzll(todo);
        todo &= todo - 1;
        const char* q = p + i;
        if ((inside >> i) & 1) return {q, scan_status::newline_in_string};
        const char c = *q;
        switch (cls[static_cast<uint8_t>(c)]) {
          case c_skip:
            continue;
          case c_open:
            if (depth == max_depth_) return count_scan(q, end, depth, cls);
            stack[depth++] = c;
            continue;
          case c_close:
            if (depth == 0 || stack[depth - 1] + 2 != c) return {q, scan_status::mismatch};
            if (--depth == 0) return {q + 1, scan_status::ok};
            continue;
          case c_newline:
            return {q, scan_status::newline_in_record};
          default:
            return {q, scan_status::bad_char};
        }
      }
      in_string = (inside >> 63) ? ~uint64_t{0} : 0;
      p += 64;
    }
    steps(p, end, end, depth, in_string != 0, cls, r);
    return r;
  }
#endif

  uint32_t max_depth_;
  std::string stack_;
};

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string describe(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02x", u);
  return buf;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool hex4(const char* p, const char* end, uint32_t& out) noexcept {
  if (end - p < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
  }
  out = v;
  return true;
}

// Appends the JSON-unescaped string body [p, end) to out. Lone surrogates become U+FFFD.
// Returns false on an invalid escape.
bool json_unescape(const char* p, const char* end, std::string& out) {
  while (p < end) {
    const auto* bs = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p)));
    if (bs == nullptr) {
      out.append(p, end);
      return true;
    }
    out.append(p, bs);
    p = bs + 1;
    if (p == end) return false;
    switch (*p++) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(p, end, cp)) return false;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low = 0;
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, end, low) &&
              low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// Does the record contain `"key"` followed by `:` and `"value"` (whitespace allowed)?
bool has_member(std::string_view rec, std::string_view key, std::string_view value) noexcept {
  size_t pos = 0;
  while ((pos = rec.find(key, pos)) != std::string_view::npos) {
    const char* p = rec.data() + pos + key.size();
    const char* end = rec.data() + rec.size();
    pos += 1;
    p = skip_ws(p, end);
    if (p == end || *p != ':') continue;
    p = skip_ws(p + 1, end);
    if (static_cast<size_t>(end - p) >= value.size() &&
        std::memcmp(p, value.data(), value.size()) == 0)
      return true;
  }
  return false;
}

bool is_digest_key(std::string_view k) noexcept {
  return k == "digestStartTime" || k == "digestEndTime" || k == "digestS3Bucket" ||
         k == "digestS3Object" || k == "previousDigestSignature" ||
         k == "digestSignatureAlgorithm" || k == "digestPublicKeyFingerprint";
}

bool is_event_key(std::string_view k) noexcept {
  return k == "eventVersion" || k == "eventName" || k == "eventSource" || k == "eventTime" ||
         k == "eventID" || k == "eventType" || k == "eventCategory";
}

// High bit of record_ref::offset while splitting: the record lives in the decoded buffer.
constexpr uint64_t k_decoded_flag = uint64_t{1} << 63;
constexpr size_t k_max_marker = 64;  // longest first key remembered for resynchronisation
constexpr size_t k_max_markers = 4;  // distinct first keys remembered per kind

// A record-start key (`"eventVersion"` with its quotes) and the cached result of its search.
struct marker {
  std::string text;
  const char* searched_from = nullptr;  // hit is the first acceptable occurrence from here
  const char* hit = nullptr;
};

// ---------------------------------------------------------------------------------------------
// The splitter

class splitter {
 public:
  splitter(loaded_file& f, const limits& lim)
      : f_(f),
        lim_(lim),
        begin_(f.text.data()),
        end_(f.text.data() + f.text.size()),
        scanner_(lim.max_depth),
        depth_reason_("nesting deeper than " + std::to_string(lim.max_depth)),
        first_error_(f.errors.size()),
        waste_budget_(2 * static_cast<uint64_t>(f.text.size()) + (uint64_t{16} << 20)) {
    markers_[k_record].push_back(marker{"\"eventVersion\""});
    markers_[k_lookup].push_back(marker{"\"EventId\""});
  }

  void run() {
    const char* p = begin_;
    if (end_ - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    p = skip_ws(p, end_);
    if (p == end_) {
      if (f_.errors.empty()) skip("empty");
    } else if (*p == '[') {
      split_arrays(p);
    } else if (*p == '{') {
      split_objects(p);
    } else if (col0_brace(p, std::min(end_, p + (1 << 20)), true) != nullptr) {
      split_ndjson(p, k_record);  // NDJSON whose first line is broken
    } else {
      add_file_error(p, "not a CloudTrail log (not JSON)");
    }
    finish();
  }

 private:
  enum kind : uint8_t { k_record = 0, k_lookup = 1 };

  struct walk_info {
    bool array_found = false;  // a Records/Events array was split
    bool wrapper_key = false;  // a Records/Events member was present
    bool digest_keys = false;
    bool event_keys = false;
    bool lookup_keys = false;  // "CloudTrailEvent": one element of lookup-events "Events"
    const char* fail_at = nullptr;
    std::string fail_reason;
  };

  uint64_t off(const char* p) const noexcept { return static_cast<uint64_t>(p - begin_); }

  void skip(const char* reason) {
    f_.skipped = true;
    f_.skip_reason = reason;
  }

  void add_error(uint32_t index, uint64_t offset, std::string reason) {
    if (f_.errors.size() >= lim_.max_errors_per_file) {
      ++f_.dropped_errors;
      if (index != no_record) ++f_.dropped_record_errors;
      return;
    }
    f_.errors.push_back(record_error{index, offset, 0, std::move(reason)});
  }
  void add_file_error(const char* at, std::string reason) {
    add_error(no_record, off(at), std::move(reason));
  }
  void add_record_error(uint32_t index, const char* at, std::string reason) {
    add_error(index, off(at), std::move(reason));
  }

  std::string failure_text(const scan_result& r) const {
    const std::string at = " at offset " + std::to_string(off(r.stop));
    switch (r.status) {
      case scan_status::bad_char:
        return "malformed record: unexpected " + describe(*r.stop) + at;
      case scan_status::mismatch:
        return "malformed record: mismatched " + describe(*r.stop) + at;
      case scan_status::newline_in_string:
        return "malformed record: raw newline in a string" + at;
      case scan_status::newline_in_record:
        return "malformed record: line ends inside the record" + at;
      default:
        return "malformed record" + at;
    }
  }

  // --- top level -------------------------------------------------------------------------------

  // A top-level array: of records, or of lookup-events elements (`--query Events`, or
  // `jq .Events`), told apart by the first key of the first element.
  void split_arrays(const char* p) {
    const kind k = first_key_is(p, "\"EventId\"") ? k_lookup : k_record;
    f_.format = k == k_lookup ? file_format::lookup_events : file_format::json_array;
    for (;;) {
      p = split_array(p + 1, k);
      if (stopped_) return;
      p = skip_ws(p, end_);
      if (p == end_) return;
      if (*p != '[') {
        add_file_error(p, "unexpected " + describe(*p) + " after the end of the array");
        return;
      }
    }
  }

  void split_objects(const char* first) {
    walk_info info;
    const char* p = walk_top_object(first, info);
    if (stopped_) return;
    if (info.wrapper_key) {
      if (info.fail_at != nullptr) {
        add_file_error(info.fail_at, info.fail_reason);
        return;
      }
      split_more_objects(p);
      return;
    }
    if (info.fail_at != nullptr) {
      // The first object is broken before any Records/Events member: a damaged wrapper, or the
      // first line of NDJSON.
      if (const char* arr = find_records_array(first)) {
        add_file_error(info.fail_at, "malformed top-level object: " + info.fail_reason);
        f_.format = file_format::cloudtrail;
        p = split_array(arr + 1, k_record);
        if (!stopped_) split_more_objects(p);
        return;
      }
      if (info.lookup_keys) {
        split_ndjson(first, k_lookup);
        return;
      }
      if (info.event_keys || col0_brace(first + 1, end_, true) != nullptr) {
        split_ndjson(first, k_record);
        return;
      }
      add_file_error(info.fail_at, "not a CloudTrail log (" + info.fail_reason + ")");
      return;
    }
    if (info.digest_keys) {
      f_.format = file_format::digest;
      skip("digest");
      return;
    }
    if (info.lookup_keys) {  // `jq -c '.Events[]'` of lookup-events output
      split_ndjson(first, k_lookup);
      return;
    }
    if (info.event_keys) {
      split_ndjson(first, k_record);
      return;
    }
    add_file_error(first, "not a CloudTrail log (no Records)");
  }

  // Further top-level objects after a Records/Events wrapper (concatenated files).
  void split_more_objects(const char* p) {
    for (;;) {
      if (stopped_) return;
      p = skip_ws(p, end_);
      if (p == end_) return;
      if (*p != '{') {
        add_file_error(p, "unexpected " + describe(*p) + " after the end of the log object");
        return;
      }
      walk_info info;
      const char* obj = p;
      p = walk_top_object(obj, info);
      if (stopped_) return;
      if (info.fail_at != nullptr) {
        add_file_error(info.fail_at, info.fail_reason);
        return;
      }
      if (!info.wrapper_key && !info.digest_keys)
        add_file_error(obj, "top-level object without Records");
    }
  }

  const char* fail(walk_info& info, const char* at, std::string reason) {
    info.fail_at = at;
    info.fail_reason = std::move(reason);
    return end_;
  }

  // p points at '{' of a top-level object; splits its Records/Events array, skips the rest.
  const char* walk_top_object(const char* p, walk_info& info) {
    ++p;
    for (;;) {
      p = skip_ws(p, end_);
      if (p == end_) return fail(info, p, "truncated file: top-level object not closed");
      if (*p == '}') return p + 1;
      if (*p != '"')
        return fail(info, p,
                    "expected a member name, found " + describe(*p) + " at offset " +
                        std::to_string(off(p)));
      const char* key_begin = p + 1;
      const char* q = skip_string_body(key_begin, end_);
      if (q == end_ || *q == '\n')
        return fail(info, p, "unterminated member name at offset " + std::to_string(off(p)));
      const std::string_view key(key_begin, static_cast<size_t>(q - key_begin));
      p = skip_ws(q + 1, end_);
      if (p == end_ || *p != ':')
        return fail(info, p, "expected ':' at offset " + std::to_string(off(p)));
      p = skip_ws(p + 1, end_);
      if (p == end_) return fail(info, p, "truncated file: top-level object not closed");
      const bool records_like = key != "Records" && key != "Events" && !info.wrapper_key &&
                                first_key_is(p, "\"eventVersion\"");
      if (records_like) {
        add_file_error(key_begin - 1, "member \"" + std::string(key) +
                                          "\" holds CloudTrail records: read as \"Records\"");
      }
      if (key == "Records" || key == "Events" || records_like) {
        const bool events = key == "Events";
        info.wrapper_key = true;
        if (f_.format == file_format::unknown)
          f_.format = events ? file_format::lookup_events : file_format::cloudtrail;
        if (*p == '[') {
          info.array_found = true;
          p = split_array(p + 1, events ? k_lookup : k_record);
          if (stopped_) return end_;
        } else {
          add_file_error(p, std::string(key) + " is not an array");
          const scan_result v = skip_value(p);
          if (!v.closed)
            return fail(info, v.stop, "malformed value at offset " + std::to_string(off(v.stop)));
          p = v.stop;
        }
      } else {
        info.digest_keys = info.digest_keys || is_digest_key(key);
        info.event_keys = info.event_keys || is_event_key(key);
        info.lookup_keys = info.lookup_keys || key == "CloudTrailEvent";
        const scan_result v = skip_value(p);
        if (!v.closed)
          return fail(info, v.stop, "malformed value at offset " + std::to_string(off(v.stop)));
        p = v.stop;
      }
      p = skip_ws(p, end_);
      if (p == end_) return fail(info, p, "truncated file: top-level object not closed");
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '}') return p + 1;
      return fail(info, p,
                  "expected ',' or '}' after a member, found " + describe(*p) + " at offset " +
                      std::to_string(off(p)));
    }
  }

  // Is the value at p an array whose first element starts with `key` (quoted)?
  bool first_key_is(const char* p, std::string_view key) const noexcept {
    if (*p != '[') return false;
    p = skip_ws(p + 1, end_);
    if (p == end_ || *p != '{') return false;
    p = skip_ws(p + 1, end_);
    return static_cast<size_t>(end_ - p) >= key.size() &&
           std::memcmp(p, key.data(), key.size()) == 0;
  }

  // Any JSON value, without limits (closed == false: malformed, stop at the problem).
  scan_result skip_value(const char* p) const noexcept {
    const char c = *p;
    if (c == '"') {
      const char* q = skip_string_body(p + 1, end_);
      if (q == end_ || *q == '\n') return {q, scan_status::too_deep, false};
      return {q + 1, scan_status::ok, true};
    }
    if (c == '{' || c == '[') return count_scan(p, end_, 0, k_tables.outside);
    const char* q = p;
    while (q < end_ && k_tables.scalar[static_cast<uint8_t>(*q)]) ++q;
    return {q, scan_status::ok, q != p};
  }

  // `"Records"` `:` `[` anywhere, for a damaged wrapper. Returns the '['.
  const char* find_records_array(const char* from) const noexcept {
    static constexpr std::string_view key = "\"Records\"";
    const std::string_view all(from, static_cast<size_t>(end_ - from));
    size_t pos = 0;
    while ((pos = all.find(key, pos)) != std::string_view::npos) {
      const char* p = skip_ws(from + pos + key.size(), end_);
      pos += 1;
      if (p == end_ || *p != ':') continue;
      p = skip_ws(p + 1, end_);
      if (p != end_ && *p == '[') return p;
    }
    return nullptr;
  }

  // A '{' at the start of a line after `from` (with `quoted`: a line starting with `{"`).
  const char* col0_brace(const char* from, const char* limit, bool quoted) const noexcept {
    const char* p = from;
    while (p < limit) {
      const auto* nl =
          static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(limit - p)));
      if (nl == nullptr || nl + 1 >= limit) return nullptr;
      if (nl[1] == '{' && (!quoted || (nl + 2 < limit && nl[2] == '"'))) return nl + 1;
      p = nl + 1;
    }
    return nullptr;
  }

  // --- arrays of records -------------------------------------------------------------------------

  // p is just after '['. Returns the position after the closing ']', or end_ when stopped.
  const char* split_array(const char* p, kind k) {
    bool want_value = true;  // after '[' or ',', or at a resynchronisation point
    for (;;) {
      if (stopped_) return end_;
      p = skip_ws(p, end_);
      if (p == end_) {
        add_file_error(p, "truncated file: array not closed");
        stopped_ = true;
        return end_;
      }
      const char c = *p;
      if (c == ']') return p + 1;  // also tolerates a trailing comma
      if (!want_value) {
        want_value = true;
        if (c == ',') {
          ++p;
        } else if (c == '{') {
          add_file_error(p, "missing ',' between records at offset " + std::to_string(off(p)));
        } else {
          add_file_error(p, "unexpected " + describe(c) + " between records at offset " +
                                std::to_string(off(p)));
          p = resync(p, k);
        }
        continue;
      }
      if (c == '{') {
        const element_result r = element(p, k);
        p = r.next;
        want_value = r.resynced;
        continue;
      }
      const uint32_t index = next_index_++;
      add_record_error(index, p, "record is not a JSON object");
      const scan_result v = skip_value(p);
      if (v.closed) {
        p = v.stop;
        want_value = false;
      } else {
        p = recover(p, v.stop, k);
      }
    }
  }

  struct element_result {
    const char* next;  // after the record, or a record start when resynced, or end_ (stopped)
    bool resynced;
  };

  // s points at '{'. Scans one element and hands out the record or an error.
  element_result element(const char* s, kind k) {
    const uint32_t index = next_index_++;
    const scan_result r = scanner_.scan(s, end_, false);
    switch (r.status) {
      case scan_status::ok: {
        const auto len = static_cast<uint64_t>(r.stop - s);
        if (len > lim_.max_record_bytes) {
          add_record_error(index, s, "record larger than max_record_bytes");
        } else if (k == k_record) {
          emit_record(s, len, index);
        } else {
          emit_lookup_event(s, r.stop, index);
        }
        learn_marker(s, r.stop, k);
        return {r.stop, false};
      }
      case scan_status::too_deep:
        add_record_error(index, s, depth_reason_);
        if (r.closed) return {r.stop, false};
        return {recover(s, r.stop, k), true};
      case scan_status::truncated: {
        // Only a strong candidate: a generic one could be an object nested in the cut record.
        const char* next = find_candidate(s + 1, k, false);
        if (next == nullptr) {
          add_record_error(index, s, "truncated record");
          stopped_ = true;
          return {end_, true};
        }
        add_record_error(index, s, "malformed record: not closed before the next record");
        return {charge(s, end_) ? next : end_, true};
      }
      default:
        add_record_error(index, s, failure_text(r));
        return {recover(s, r.stop, k), true};
    }
  }

  // Accounts for bytes scanned in vain; false (and stopped) once the budget is spent, so that a
  // hostile file cannot make resynchronisation quadratic.
  bool charge(const char* from, const char* to) {
    wasted_ += static_cast<uint64_t>(to - from);
    if (wasted_ <= waste_budget_) return true;
    add_file_error(to, "too many structure errors, rest of the file skipped");
    stopped_ = true;
    return false;
  }

  const char* recover(const char* s, const char* stop, kind k) {
    if (!charge(s, stop)) return end_;
    return resync(s + 1, k);
  }

  const char* resync(const char* from, kind k) {
    const char* next = find_candidate(from, k, true);
    if (next == nullptr) {
      stopped_ = true;
      return end_;
    }
    return next;
  }

  // Remembers the first key of a good record (up to k_max_markers distinct keys per kind).
  void learn_marker(const char* s, const char* e, kind k) {
    seen_record_[k] = true;
    std::vector<marker>& set = markers_[k];
    const char* p = skip_ws(s + 1, e);
    if (p == e || *p != '"') return;
    const auto* q = static_cast<const char*>(
        std::memchr(p + 1, '"', std::min<size_t>(static_cast<size_t>(e - p - 1), k_max_marker)));
    if (q == nullptr) return;
    const std::string_view key(p, static_cast<size_t>(q + 1 - p));
    for (const marker& m : set)
      if (m.text == key) return;
    if (set.size() < k_max_markers && key.find('\\') == std::string_view::npos)
      set.push_back(marker{std::string(key)});
  }

  // Next acceptable occurrence of m at or after `from`: the '{' before it (whitespace allowed),
  // unless that '{' is a member value (`"x": {"eventVersion"...`). Cached, so that repeated
  // resynchronisation stays linear.
  const char* find_marker(marker& m, const char* from) const noexcept {
    if (m.searched_from != nullptr && from >= m.searched_from &&
        (m.hit == nullptr || m.hit >= from))
      return m.hit;
    const std::string_view all(begin_, static_cast<size_t>(end_ - begin_));
    size_t pos = static_cast<size_t>(from - begin_);
    m.searched_from = from;
    m.hit = nullptr;
    while ((pos = all.find(m.text, pos)) != std::string_view::npos) {
      const char* b = begin_ + pos;
      pos += 1;
      while (b > begin_ && is_ws(b[-1])) --b;
      if (b - 1 < from || b[-1] != '{') continue;
      const char* brace = b - 1;
      const char* prev = brace;
      while (prev > begin_ && is_ws(prev[-1])) --prev;
      if (prev == begin_ || prev[-1] != ':') {
        m.hit = brace;
        break;
      }
    }
    return m.hit;
  }

  // Next plausible record start at or after `from`: the earliest '{' opening one of the first
  // keys seen in good records (`{"eventVersion"` by default). Only while no good record has
  // been seen (the keys are then just a guess) and with allow_generic: else any '{' followed
  // by '"' and preceded by ',' or '['. nullptr if none.
  const char* find_candidate(const char* from, kind k, bool allow_generic) {
    const char* best = nullptr;
    for (marker& m : markers_[k]) {
      const char* c = find_marker(m, from);
      if (c != nullptr && (best == nullptr || c < best)) best = c;
    }
    if (best != nullptr || !allow_generic || seen_record_[k]) return best;
    const char* p = from;
    while (p < end_) {
      const auto* brace =
          static_cast<const char*>(std::memchr(p, '{', static_cast<size_t>(end_ - p)));
      if (brace == nullptr) return nullptr;
      p = brace + 1;
      const char* next = skip_ws(brace + 1, end_);
      if (next == end_ || *next != '"') continue;
      const char* prev = brace;
      while (prev > begin_ && is_ws(prev[-1])) --prev;
      if (prev > begin_ && (prev[-1] == ',' || prev[-1] == '[')) return brace;
    }
    return nullptr;
  }

  // --- records ---------------------------------------------------------------------------------

  void emit_record(const char* s, uint64_t len, uint32_t index) {
    if (!first_record_seen_) {
      first_record_seen_ = true;
      const std::string_view rec(s, len);
      // Both markers contain "Insight": one search for it rules out almost every file (scanning
      // for the quoted key alone stops at every quote of the record).
      if (f_.format == file_format::cloudtrail && rec.find("Insight") != std::string_view::npos &&
          (has_member(rec, "\"eventCategory\"", "\"Insight\"") ||
           has_member(rec, "\"eventType\"", "\"AwsCloudTrailInsight\""))) {
        f_.format = file_format::insights;
        skip("insights");
        stopped_ = true;
        return;
      }
    }
    f_.records.push_back(record_ref{off(s), len, index});
  }

  // An element of "Events": find its depth-1 "CloudTrailEvent" string and decode it.
  // [s, e) is a balanced object already checked by the scanner.
  void emit_lookup_event(const char* s, const char* e, uint32_t index) {
    const char* p = s + 1;
    for (;;) {
      p = skip_ws(p, e);
      if (p == e || *p != '"') break;
      const char* key_begin = p + 1;
      const char* q = skip_string_body(key_begin, e);
      if (q == e || *q != '"') break;
      const std::string_view key(key_begin, static_cast<size_t>(q - key_begin));
      p = skip_ws(q + 1, e);
      if (p == e || *p != ':') break;
      p = skip_ws(p + 1, e);
      if (p == e) break;
      if (key == "CloudTrailEvent") {
        if (*p != '"') {
          add_record_error(index, s, "CloudTrailEvent is not a string");
          return;
        }
        const char* str_end = skip_string_body(p + 1, e);
        if (str_end == e || *str_end != '"') break;
        decode_event(s, p + 1, str_end, index);
        return;
      }
      const scan_result v = skip_value(p);
      if (!v.closed || v.stop > e) break;
      p = skip_ws(v.stop, e);
      if (p == e || *p != ',') break;
      ++p;
    }
    add_record_error(index, s, "Events element has no CloudTrailEvent");
  }

  void decode_event(const char* element, const char* b, const char* e, uint32_t index) {
    const size_t start = decoded_.size();
    if (!json_unescape(b, e, decoded_)) {
      decoded_.resize(start);
      add_record_error(index, element, "invalid escape in CloudTrailEvent");
      return;
    }
    const char* d = decoded_.data() + start;
    const char* d_end = decoded_.data() + decoded_.size();
    const char* r = skip_ws(d, d_end);
    std::string problem;
    if (r == d_end || *r != '{') {
      problem = "CloudTrailEvent is not a JSON object";
    } else {
      const scan_result sr = scanner_.scan(r, d_end, false);
      if (sr.status == scan_status::ok && skip_ws(sr.stop, d_end) != d_end) {
        problem = "CloudTrailEvent: unexpected data after the record";
      } else if (sr.status == scan_status::ok) {
        const auto len = static_cast<uint64_t>(sr.stop - r);
        if (len > lim_.max_record_bytes) {
          problem = "record larger than max_record_bytes";
        } else {
          const auto at = static_cast<uint64_t>(r - decoded_.data());
          f_.records.push_back(record_ref{at | k_decoded_flag, len, index});
          return;
        }
      } else if (sr.status == scan_status::too_deep) {
        problem = depth_reason_;
      } else if (sr.status == scan_status::truncated) {
        problem = "CloudTrailEvent: truncated record";
      } else {
        problem = "CloudTrailEvent: malformed record";
      }
    }
    decoded_.resize(start);
    add_record_error(index, element, std::move(problem));
  }

  // --- NDJSON ----------------------------------------------------------------------------------

  // Compact NDJSON (the first record line ends with '}') is split strictly by lines; otherwise
  // the input is a stream of (pretty-printed) objects and resynchronises on '{' in column 0.
  // With k_lookup the objects are lookup-events elements (`jq -c '.Events[]'`).
  void split_ndjson(const char* p, kind k) {
    f_.format = k == k_lookup ? file_format::lookup_events : file_format::ndjson;
    {
      const auto* nl =
          static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end_ - p)));
      const char* last = nl == nullptr ? end_ : nl;
      while (last > p && is_ws(last[-1])) --last;
      line_mode_ = last > p && last[-1] == '}';
    }
    for (;;) {
      if (stopped_) return;
      p = skip_ws(p, end_);
      if (p == end_) return;
      const char* s = p;
      const uint32_t index = next_index_++;
      if (*s != '{') {
        add_record_error(index, s, "line is not a JSON object");
        p = next_line(s);
        continue;
      }
      const scan_result r = scanner_.scan(s, end_, line_mode_);
      switch (r.status) {
        case scan_status::ok: {
          const auto len = static_cast<uint64_t>(r.stop - s);
          if (len > lim_.max_record_bytes) {
            add_record_error(index, s, "record larger than max_record_bytes");
          } else if (k == k_record) {
            emit_record(s, len, index);
          } else {
            emit_lookup_event(s, r.stop, index);
          }
          p = r.stop;
          while (p < end_ && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
          if (p < end_ && *p != '\n' && *p != '{') {
            add_file_error(p, "unexpected " + describe(*p) + " after a record at offset " +
                                  std::to_string(off(p)));
            p = next_line(p);
          }
          break;
        }
        case scan_status::too_deep:
          add_record_error(index, s, depth_reason_);
          p = r.closed ? r.stop : ndjson_recover(s, r.stop);
          break;
        case scan_status::truncated: {
          const char* next = ndjson_next(s);
          if (next == end_) {
            add_record_error(index, s, "truncated record");
            return;
          }
          add_record_error(index, s, "malformed record: not closed before the next record");
          p = charge(s, end_) ? next : end_;
          break;
        }
        default:
          add_record_error(index, s, failure_text(r));
          p = ndjson_recover(s, r.stop);
          break;
      }
    }
  }

  const char* next_line(const char* p) const noexcept {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end_ - p)));
    return nl == nullptr ? end_ : nl + 1;
  }

  const char* ndjson_next(const char* s) const noexcept {
    if (line_mode_) return next_line(s);
    const char* b = col0_brace(s, end_, false);
    return b == nullptr ? end_ : b;
  }

  const char* ndjson_recover(const char* s, const char* stop) {
    if (!charge(s, stop)) return end_;
    return ndjson_next(s);
  }

  // --- end -------------------------------------------------------------------------------------

  void finish() {
    if (f_.skipped) {
      f_.records.clear();
      f_.errors.resize(first_error_);
      f_.dropped_errors = 0;
      f_.dropped_record_errors = 0;
    }
    // Errors in offset order, each with its line (one pass over the content).
    std::stable_sort(
        f_.errors.begin(), f_.errors.end(),
        [](const record_error& a, const record_error& b) { return a.offset < b.offset; });
    const char* p = begin_;
    uint64_t line = 1;
    for (record_error& e : f_.errors) {
      const char* target = begin_ + std::min<uint64_t>(e.offset, off(end_));
      while (p < target) {
        const auto* nl =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(target - p)));
        if (nl == nullptr) break;
        ++line;
        p = nl + 1;
      }
      p = std::max(p, target);
      e.line = line;
    }
    // Last: appending the decoded records may move the text (begin_/end_ become invalid).
    if (has_decoded_records()) {
      const uint64_t base = f_.text.size();
      f_.text.append(decoded_);
      for (record_ref& r : f_.records)
        if ((r.offset & k_decoded_flag) != 0) r.offset = (r.offset & ~k_decoded_flag) + base;
    }
  }

  bool has_decoded_records() const noexcept {
    for (const record_ref& r : f_.records)
      if ((r.offset & k_decoded_flag) != 0) return true;
    return false;
  }

  loaded_file& f_;
  const limits& lim_;
  const char* begin_;
  const char* end_;
  record_scanner scanner_;
  std::string depth_reason_;
  size_t first_error_;
  uint64_t wasted_ = 0;
  uint64_t waste_budget_;
  std::string decoded_;
  std::vector<marker> markers_[2];
  bool seen_record_[2] = {false, false};
  uint32_t next_index_ = 0;
  bool stopped_ = false;
  bool first_record_seen_ = false;
  bool line_mode_ = false;
};

}  // namespace
}  // namespace detail

void split_records(loaded_file& f, const limits& lim) noexcept {
  try {
    detail::splitter s(f, lim);
    s.run();
  } catch (...) {  // std::bad_alloc: nothing else throws
    f.records.clear();
    f.fatal_error = "out of memory while splitting records";
  }
}

}  // namespace trailhound::input
