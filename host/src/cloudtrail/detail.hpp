// SPDX-License-Identifier: Apache-2.0
// RapidJSON types and field extraction shared by the single-record and batch parsers.
#pragma once

#include <rapidjson/document.h>
#include <trailhound/plugin_abi.h>

#include <string_view>

#include "cloudtrail/record_parser.hpp"

namespace trailhound::cloudtrail::detail {

using pool_allocator = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using document = rapidjson::GenericDocument<rapidjson::UTF8<>, pool_allocator, pool_allocator>;
using value = rapidjson::GenericValue<rapidjson::UTF8<>, pool_allocator>;

inline constexpr unsigned PARSE_FLAGS =
    rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag;
// For text known to be plain_ascii() (nearly every CloudTrail file): UTF-8 validation can be
// skipped, which saves a quarter of the parsing time.
inline constexpr unsigned PARSE_FLAGS_ASCII = rapidjson::kParseInsituFlag;

// True when no byte has the high bit set (then the text is valid UTF-8) and no byte is a control
// character 0x1A..0x1F: then parsing with PARSE_FLAGS_ASCII accepts and rejects exactly what
// PARSE_FLAGS does. (RapidJSON 1.1.0's SSE2 string scan, used only without
// kParseValidateEncodingFlag, misses raw 0x1A..0x1F in strings and accepts them; the scalar
// code rejects every raw byte below 0x20.) Word at a time.
bool plain_ascii(std::string_view text) noexcept;

// Spare capacity after every buffer parsed with RAPIDJSON_SSE2 (it reads 16-byte blocks).
inline constexpr size_t PARSE_PADDING = 64;

// Zeroes the event and sets the tri-state flags to unknown and raw_json to `raw`.
void init_event(std::string_view raw, th_event& ev) noexcept;
// Fills the common fields from a parsed record (root must stay alive as long as the event).
bool extract_fields(const value& root, th_event& ev, parse_error& err) noexcept;

}  // namespace trailhound::cloudtrail::detail
