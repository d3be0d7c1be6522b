// SPDX-License-Identifier: Apache-2.0
// RapidJSON's in-situ stream over a buffer padded for 16-byte reads, with a faster string scan.
//
// RapidJSON 1.1.0 scans string contents for '"', '\\' and control characters 16 bytes at a time
// with SSE2, but only from a 16-byte boundary on: it first walks up to 15 bytes one at a time.
// CloudTrail strings are short (72 of them per record, most under 16 bytes), so that walk and
// its mispredicted exits took most of the scanning time. Our buffers always have
// PARSE_PADDING spare bytes after their NUL terminator, so unaligned 16-byte loads from any
// position are safe: padded_insitu_stream says so, and the reader's scan hook,
// ScanCopyUnescapedString, is specialised for it (detail.hpp) to scan_unescaped() below.
// The scan also stops at every byte below 0x20, where RapidJSON's misses 0x1A..0x1F.
#pragma once

#include <rapidjson/stream.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace trailhound::cloudtrail::detail {

// In-situ stream over NUL-terminated text followed by at least 15 readable bytes.
struct padded_insitu_stream : rapidjson::InsituStringStream {
  explicit padded_insitu_stream(char* text) : rapidjson::InsituStringStream(text) {}
};

// Moves the stream past the plain part of a string: up to the first '"', '\\' or byte below
// 0x20 (the NUL terminator included), copying it down when escapes have shifted the text.
inline void scan_unescaped(padded_insitu_stream& is) noexcept {
  char* p = is.src_;
  char* q = is.dst_;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control = _mm_set1_epi8(0x1F);
  const auto stops = [&](__m128i s) {
    const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(s, quote), _mm_cmpeq_epi8(s, backslash));
    // s <= 0x1F (unsigned) <=> max(s, 0x1F) == 0x1F
    return static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(special, _mm_cmpeq_epi8(_mm_max_epu8(s, control), control))));
  };
  if (p == q) {  // nothing unescaped yet in this string: nothing to copy
    for (;; p += 16) {
      if (const unsigned m = stops(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))) {
        p += __builtin_ctz(m);
        break;
      }
    }
    is.src_ = is.dst_ = p;
    return;
  }
  for (;; p += 16, q += 16) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (const unsigned m = stops(s)) {
      for (const char* end = p + __builtin_ctz(m); p != end;) *q++ = *p++;
      break;
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), s);  // q < p: only bytes already read
  }
#else
  for (; *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20; ++p, ++q) *q = *p;
#endif
  is.src_ = p;
  is.dst_ = q;
}

}  // namespace trailhound::cloudtrail::detail
