// SPDX-License-Identifier: Apache-2.0
// RapidJSON types and field extraction shared by the single-record and batch parsers.
#pragma once

#include <rapidjson/document.h>
#include <trailhound/plugin_abi.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "cloudtrail/padded_stream.hpp"
#include "cloudtrail/record_parser.hpp"

namespace trailhound::cloudtrail::detail {

// The parse stack of the reused document: one block, kept for every record of the file.
// RapidJSON frees its stack after each parse and allocates it again for the next one; with a
// pool allocator every record would leave a dead stack behind (kilobytes per record).
class reused_stack_allocator {
 public:
  // (RapidJSON's Allocator concept also has kNeedFree; only the value allocator's is read.)
  void* Malloc(size_t size) { return Realloc(nullptr, 0, size); }
  void* Realloc(void* original, size_t original_size, size_t new_size) {
    if (new_size > size_) {
      // Not zero-filled (a std::vector would be): RapidJSON writes before it reads.
      const size_t bigger_size = std::max(new_size, 2 * size_);
      std::unique_ptr<char[]> bigger(new char[bigger_size]);
      if (original) std::memcpy(bigger.get(), original, std::min(original_size, new_size));
      block_ = std::move(bigger);
      size_ = bigger_size;
    }
    return block_.get();
  }
  static void Free(void*) noexcept {}
  size_t capacity() const noexcept { return size_; }

 private:
  std::unique_ptr<char[]> block_;
  size_t size_ = 0;
};

using pool_allocator = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
// Every parse (whole file or one record) builds this document: values in a pool, the parse
// stack in one reused block.
using document =
    rapidjson::GenericDocument<rapidjson::UTF8<>, pool_allocator, reused_stack_allocator>;
using value = rapidjson::GenericValue<rapidjson::UTF8<>, pool_allocator>;

inline constexpr unsigned PARSE_FLAGS =
    rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag;
// For text known to be plain_ascii() (nearly every CloudTrail file): UTF-8 validation can be
// skipped, which saves a quarter of the parsing time.
inline constexpr unsigned PARSE_FLAGS_ASCII = rapidjson::kParseInsituFlag;

// True when no byte has the high bit set (then the text is valid UTF-8) and no byte is a control
// character 0x1A..0x1F: then parsing with PARSE_FLAGS_ASCII accepts and rejects exactly what
// PARSE_FLAGS does, whichever string scan runs. (RapidJSON 1.1.0's own SSE2 scan, used only
// without kParseValidateEncodingFlag, misses raw 0x1A..0x1F in strings and accepts them; the
// padded stream's scan and RapidJSON's scalar code reject every raw byte below 0x20.) Word at a
// time.
bool plain_ascii(std::string_view text) noexcept;

// Spare capacity after every buffer parsed in situ (the string scan reads 16-byte blocks).
inline constexpr size_t PARSE_PADDING = 64;

// Parses text in situ: NUL-terminated, with PARSE_PADDING readable bytes after it.
template <unsigned Flags, typename Document>
void parse_padded(Document& doc, char* text) {
  padded_insitu_stream in(text);
  doc.template ParseStream<Flags, rapidjson::UTF8<>>(in);
}

// Zeroes the event and sets the tri-state flags to unknown and raw_json to `raw`.
void init_event(std::string_view raw, th_event& ev) noexcept;
// Fills the common fields from a parsed record (root must stay alive as long as the event).
bool extract_fields(const value& root, th_event& ev, parse_error& err) noexcept;

}  // namespace trailhound::cloudtrail::detail

// The reader's scan hook for our padded stream (see padded_stream.hpp), for the reader every
// parse uses. An explicit specialisation: it must be seen before any parse with the stream.
template <>
template <>
inline void rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     trailhound::cloudtrail::detail::reused_stack_allocator>::
    ScanCopyUnescapedString(trailhound::cloudtrail::detail::padded_insitu_stream& is,
                            trailhound::cloudtrail::detail::padded_insitu_stream&) {
  trailhound::cloudtrail::detail::scan_unescaped(is);
}
