// SPDX-License-Identifier: Apache-2.0
// Tolerant reading of IAM / resource policy documents: a RapidJSON view shaped like sdk::value,
// case-insensitive members, string-or-list values, and a nesting check before parsing.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <vector>

namespace trailhound::sdk::policy {

// True when the brackets of JSON `text` nest at most `max_depth` deep (strings skipped). Check
// it before building a RapidJSON DOM: its recursive parser overflows the stack on deep input.
inline bool nesting_ok(std::string_view text, int max_depth = 32) noexcept {
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// A read-only view over a RapidJSON value with the same shape as sdk::value (exists, is_*, str,
// size, member_name, member_at, elements), so one analysis serves both. Typed getters only.
class json_view {
 public:
  json_view() = default;
  explicit json_view(const rapidjson::Value* v) : v_(v) {}
  bool exists() const { return v_ != nullptr; }
  bool is_string() const { return v_ && v_->IsString(); }
  bool is_array() const { return v_ && v_->IsArray(); }
  bool is_object() const { return v_ && v_->IsObject(); }
  // String content; "" for non-strings.
  std::string_view str() const {
    return is_string() ? std::string_view(v_->GetString(), v_->GetStringLength())
                       : std::string_view();
  }
  // Elements of an array or members of an object; 0 otherwise.
  uint32_t size() const {
    if (is_array()) return v_->Size();
    if (is_object()) return v_->MemberCount();
    return 0;
  }
  // Name and value of the i-th member of an object (iteration); "" / missing out of range.
  std::string_view member_name(uint32_t i) const {
    if (!is_object() || i >= v_->MemberCount()) return {};
    const auto& n = (v_->MemberBegin() + i)->name;
    return n.IsString() ? std::string_view(n.GetString(), n.GetStringLength()) : std::string_view();
  }
  json_view member_at(uint32_t i) const {
    if (!is_object() || i >= v_->MemberCount()) return {};
    return json_view(&(v_->MemberBegin() + i)->value);
  }
  // Elements of an array, or a one-element list for any other present non-null value.
  std::vector<json_view> elements() const {
    std::vector<json_view> out;
    if (is_array()) {
      for (rapidjson::SizeType i = 0; i < v_->Size(); ++i) out.emplace_back(&(*v_)[i]);
    } else if (v_ && !v_->IsNull()) {
      out.push_back(*this);
    }
    return out;
  }

 private:
  const rapidjson::Value* v_ = nullptr;
};

// Member `name` of object `obj` compared ignoring case (policy keys are documented capitalised,
// hand-written documents vary); a missing V when absent. V: json_view or sdk::value.
template <class V>
V member_ci(const V& obj, std::string_view name) {
  if (!obj.is_object()) return V();
  uint32_t n = obj.size();
  for (uint32_t i = 0; i < n; ++i)
    if (util::iequals(obj.member_name(i), name)) return obj.member_at(i);
  return V();
}

// The strings of a value that is a string or a list ("Action": "s3:GetObject" or [...]);
// non-string elements are skipped. V: json_view or sdk::value.
template <class V>
std::vector<std::string> strings_of(const V& v) {
  std::vector<std::string> out;
  for (const auto& x : v.elements())
    if (x.is_string()) out.emplace_back(x.str());
  return out;
}

}  // namespace trailhound::sdk::policy
