// SPDX-License-Identifier: Apache-2.0
// Config internals: TOML value formatting and conversion of values to typed params.
#include "config/detail.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "config/config.hpp"

namespace trailhound::config::detail {

std::string_view node_type_name(const toml::node& n) noexcept {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string format_key(std::string_view k) {
  bool bare = !k.empty();
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      bare = false;
  return bare ? std::string(k) : quote(k);
}

namespace {

std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// A range bound for messages: integral values without a fraction.
std::string format_bound(double d) {
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15)
    return std::to_string(static_cast<int64_t>(d));
  return format_double(d);
}

template <typename T>
std::string stream_value(const T& v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

}  // namespace

std::string format_node(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return quote(n.as_string()->get());
    case toml::node_type::integer:
      return std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point:
      return format_double(n.as_floating_point()->get());
    case toml::node_type::boolean:
      return n.as_boolean()->get() ? "true" : "false";
    case toml::node_type::date:
      return stream_value(n.as_date()->get());
    case toml::node_type::time:
      return stream_value(n.as_time()->get());
    case toml::node_type::date_time:
      return stream_value(n.as_date_time()->get());
    case toml::node_type::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : *n.as_array()) {
        if (!first) out += ", ";
        first = false;
        out += format_node(e);
      }
      return out + "]";
    }
    case toml::node_type::table: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : *n.as_table()) {
        out += first ? " " : ", ";
        first = false;
        out += format_key(k.str()) + " = " + format_node(v);
      }
      return out + (first ? "}" : " }");
    }
    case toml::node_type::none:
      break;
  }
  return "";
}

std::optional<std::string> convert_param(const toml::node& n, const param_spec& spec,
                                         param_value& out) {
  auto wrong = [&](std::string_view expected) {
    return std::string("expected ") + std::string(expected) + ", got " +
           std::string(node_type_name(n)) + " " + format_node(n);
  };
  double numeric = 0;
  switch (spec.type) {
    case param_type::boolean:
      if (!n.is_boolean()) return wrong("a boolean");
      out.bool_value = n.as_boolean()->get();
      return std::nullopt;
    case param_type::integer:
      if (!n.is_integer()) return wrong("an integer");
      out.int_value = n.as_integer()->get();
      numeric = static_cast<double>(out.int_value);
      break;
    case param_type::floating:
      if (n.is_floating_point()) {
        out.double_value = n.as_floating_point()->get();
      } else if (n.is_integer()) {
        out.double_value = static_cast<double>(n.as_integer()->get());
      } else {
        return wrong("a number");
      }
      numeric = out.double_value;
      break;
    case param_type::string:
      if (!n.is_string()) return wrong("a string");
      out.string_value = n.as_string()->get();
      return std::nullopt;
    case param_type::string_list: {
      if (!n.is_array()) return wrong("an array of strings");
      std::vector<std::string> list;
      size_t i = 0;
      for (const auto& e : *n.as_array()) {
        if (!e.is_string())
          return "expected an array of strings, element " + std::to_string(i) + " is " +
                 std::string(node_type_name(e)) + " " + format_node(e);
        list.push_back(e.as_string()->get());
        ++i;
      }
      out.list = std::move(list);
      return std::nullopt;
    }
    case param_type::duration:
      if (n.is_integer()) {
        out.int_value = n.as_integer()->get();
        if (out.int_value < 0) return "a duration cannot be negative";
      } else if (n.is_string()) {
        auto d = parse_duration(n.as_string()->get());
        if (!d)
          return "malformed duration " + format_node(n) +
                 " (integer seconds or e.g. \"30s\", \"15m\", \"6h\", \"7d\", \"1h30m\")";
        out.int_value = *d;
      } else {
        return wrong("a duration (integer seconds or a string such as \"15m\")");
      }
      numeric = static_cast<double>(out.int_value);
      break;
  }
  if (spec.has_range && (numeric < spec.min_value || numeric > spec.max_value)) {
    std::string shown =
        spec.type == param_type::duration ? format_duration(out.int_value) : format_node(n);
    std::string lo = format_bound(spec.min_value), hi = format_bound(spec.max_value);
    if (spec.type == param_type::duration) {
      lo = format_duration(static_cast<int64_t>(spec.min_value));
      hi = format_duration(static_cast<int64_t>(spec.max_value));
    }
    return "value " + shown + " is out of range [" + lo + ", " + hi + "]";
  }
  return std::nullopt;
}

std::string format_param(const param_value& v) {
  switch (v.type) {
    case param_type::boolean:
      return v.bool_value ? "true" : "false";
    case param_type::integer:
      return std::to_string(v.int_value);
    case param_type::floating:
      return format_double(v.double_value);
    case param_type::string:
      return quote(v.string_value);
    case param_type::string_list: {
      std::string out = "[";
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i) out += ", ";
        out += quote(v.list[i]);
      }
      return out + "]";
    }
    case param_type::duration:
      return quote(format_duration(v.int_value));
  }
  return "";
}

}  // namespace trailhound::config::detail
