// SPDX-License-Identifier: Apache-2.0
// th_value accessors, JSON pointers and JSON text helpers over RapidJSON (typed getters only).
#include "cloudtrail/value_api.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/writer.h>

#include <cstring>

#include "cloudtrail/record_parser.hpp"

namespace trailhound::cloudtrail {
namespace {

using pool_allocator = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using value = rapidjson::GenericValue<rapidjson::UTF8<>, pool_allocator>;

const value* as_value(const th_value* v) noexcept { return reinterpret_cast<const value*>(v); }
const th_value* as_handle(const value* v) noexcept { return reinterpret_cast<const th_value*>(v); }

int32_t value_kind(const th_value* h) noexcept {
  const value* v = as_value(h);
  if (!v) return TH_VALUE_MISSING;
  switch (v->GetType()) {
    case rapidjson::kNullType:
      return TH_VALUE_NULL;
    case rapidjson::kFalseType:
      return TH_VALUE_FALSE;
    case rapidjson::kTrueType:
      return TH_VALUE_TRUE;
    case rapidjson::kNumberType:
      return TH_VALUE_NUMBER;
    case rapidjson::kStringType:
      return TH_VALUE_STRING;
    case rapidjson::kArrayType:
      return TH_VALUE_ARRAY;
    case rapidjson::kObjectType:
      return TH_VALUE_OBJECT;
  }
  return TH_VALUE_MISSING;
}

th_str value_string(const th_value* h) noexcept {
  const value* v = as_value(h);
  if (!v || !v->IsString()) return th_str{nullptr, 0};
  return th_str{v->GetString(), v->GetStringLength()};
}

double value_number(const th_value* h) noexcept {
  const value* v = as_value(h);
  return v && v->IsNumber() ? v->GetDouble() : 0.0;
}

int64_t value_int(const th_value* h) noexcept {
  const value* v = as_value(h);
  if (!v) return 0;
  if (v->IsInt64()) return v->GetInt64();
  if (v->IsUint64()) return static_cast<int64_t>(v->GetUint64());
  return 0;
}

uint32_t value_size(const th_value* h) noexcept {
  const value* v = as_value(h);
  if (!v) return 0;
  if (v->IsArray()) return v->Size();
  if (v->IsObject()) return v->MemberCount();
  return 0;
}

const th_value* value_index(const th_value* h, uint32_t i) noexcept {
  const value* v = as_value(h);
  if (!v || !v->IsArray() || i >= v->Size()) return nullptr;
  return as_handle(&(*v)[i]);
}

inline uint64_t load8(const char* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Equality of two member names of `len` bytes without a call to memcmp: 8 bytes at a time, the
// last 8 overlapping ("requestParameters" is 17 bytes), or the first and last 4 when shorter.
inline bool same_name(const char* a, const char* b, size_t len) noexcept {
  if (len >= 8) {
    for (; len > 8; a += 8, b += 8, len -= 8)
      if (load8(a) != load8(b)) return false;
    return load8(a + len - 8) == load8(b + len - 8);
  }
  if (len >= 4) {
    uint32_t x[2], y[2];
    std::memcpy(&x[0], a, 4);
    std::memcpy(&x[1], a + len - 4, 4);
    std::memcpy(&y[0], b, 4);
    std::memcpy(&y[1], b + len - 4, 4);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  for (size_t i = 0; i < len; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// The first member named `name`, as RapidJSON's FindMember. This runs for every field a detector
// reads: the lengths are compared first, and names of equal length compared inline.
const th_value* find_member(const value* v, const char* name, size_t len) noexcept {
  if (!v || !v->IsObject()) return nullptr;
  for (auto m = v->MemberBegin(), end = v->MemberEnd(); m != end; ++m)
    if (m->name.GetStringLength() == len && same_name(m->name.GetString(), name, len))
      return as_handle(&m->value);
  return nullptr;
}

const th_value* value_member(const th_value* h, th_str name) noexcept {
  return find_member(as_value(h), name.ptr, static_cast<size_t>(name.len));
}

th_str value_member_name(const th_value* h, uint32_t i) noexcept {
  const value* v = as_value(h);
  if (!v || !v->IsObject() || i >= v->MemberCount()) return th_str{nullptr, 0};
  const auto& m = *(v->MemberBegin() + i);
  return th_str{m.name.GetString(), m.name.GetStringLength()};
}

const th_value* value_member_at(const th_value* h, uint32_t i) noexcept {
  const value* v = as_value(h);
  if (!v || !v->IsObject() || i >= v->MemberCount()) return nullptr;
  return as_handle(&(v->MemberBegin() + i)->value);
}

// Writes into a std::string without an intermediate buffer.
struct string_stream {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

}  // namespace

void install_value_accessors(th_host_api& api) noexcept {
  api.value_kind = &value_kind;
  api.value_string = &value_string;
  api.value_number = &value_number;
  api.value_int = &value_int;
  api.value_size = &value_size;
  api.value_index = &value_index;
  api.value_member = &value_member;
  api.value_member_name = &value_member_name;
  api.value_member_at = &value_member_at;
}

std::optional<json_pointer> json_pointer::parse(std::string_view text) {
  json_pointer p;
  p.text_ = std::string(text);
  if (text.empty()) return p;  // the whole document
  if (text[0] != '/') return std::nullopt;
  size_t pos = 1;
  while (true) {
    size_t slash = text.find('/', pos);
    std::string_view raw = text.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    token t;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~') {
        if (i + 1 >= raw.size()) return std::nullopt;
        if (raw[i + 1] == '0')
          t.name.push_back('~');
        else if (raw[i + 1] == '1')
          t.name.push_back('/');
        else
          return std::nullopt;
        ++i;
      } else {
        t.name.push_back(raw[i]);
      }
    }
    if (!t.name.empty() && t.name.size() < 10 &&
        t.name.find_first_not_of("0123456789") == std::string::npos &&
        (t.name.size() == 1 || t.name[0] != '0'))
      t.index = std::stoll(t.name);
    p.tokens_.push_back(std::move(t));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return p;
}

const th_value* json_pointer::resolve(const th_value* root) const noexcept {
  const value* v = as_value(root);
  for (const token& t : tokens_) {
    if (!v) return nullptr;
    if (v->IsObject()) {
      v = as_value(find_member(v, t.name.data(), t.name.size()));
    } else if (v->IsArray() && t.index >= 0 && static_cast<uint64_t>(t.index) < v->Size()) {
      v = &(*v)[static_cast<rapidjson::SizeType>(t.index)];
    } else {
      return nullptr;
    }
  }
  return as_handle(v);
}

void append_value_json(const th_value* h, std::string& out) {
  const value* v = as_value(h);
  if (!v) {
    out += "null";
    return;
  }
  string_stream os{&out};
  rapidjson::Writer<string_stream, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteNanAndInfFlag>
      writer(os);
  v->Accept(writer);
}

bool normalize_json_object(std::string_view text, uint32_t max_depth, std::string& compact,
                           std::string& reason) {
  if (json_depth(text, max_depth) > max_depth) {
    reason = "nesting deeper than " + std::to_string(max_depth);
    return false;
  }
  rapidjson::Document d;
  std::string copy;
  copy.reserve(text.size() + 64);  // room for RapidJSON's SIMD over-reads
  copy.assign(text);
  d.Parse<rapidjson::kParseValidateEncodingFlag>(copy.data(), copy.size());
  if (d.HasParseError()) {
    reason = std::string("invalid JSON at offset ") + std::to_string(d.GetErrorOffset()) + ": " +
             rapidjson::GetParseError_En(d.GetParseError());
    return false;
  }
  if (!d.IsObject()) {
    reason = "not a JSON object";
    return false;
  }
  compact.clear();
  string_stream os{&compact};
  rapidjson::Writer<string_stream> writer(os);
  d.Accept(writer);
  return true;
}

void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0)
      n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      n = 3, cp = c & 0x07;
    else
      return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

}  // namespace trailhound::cloudtrail
