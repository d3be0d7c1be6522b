// SPDX-License-Identifier: Apache-2.0
// Finding ids and the JSON form of a finding.
#include "findings/finding.hpp"

#include <cstdio>

#include "cloudtrail/record_parser.hpp"
#include "cloudtrail/value_api.hpp"
#include "common/severity.hpp"

namespace trailhound::findings {
namespace {

// Two independent 64-bit FNV-1a style hashes make a 128-bit id: collisions are not a concern for
// the number of findings a deployment ever produces.
struct hasher {
  uint64_t a = 0xcbf29ce484222325ull;
  uint64_t b = 0x84222325cbf29ce4ull;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 0x100000001b3ull;
      b = (b ^ c) * 0x00000100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
    // A separator that cannot appear in UTF-8 text keeps ("ab","c") apart from ("a","bc").
    a = (a ^ 0xff) * 0x100000001b3ull;
    b = (b ^ 0xff) * 0x00000100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
};

void field(std::string& out, const char* name, std::string_view value, bool first = false) {
  if (!first) out.push_back(',');
  out.push_back('"');
  out += name;
  out += "\":";
  cloudtrail::append_json_string(out, value);
}

void list_field(std::string& out, const char* name, const std::vector<std::string>& values) {
  out += ",\"";
  out += name;
  out += "\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    cloudtrail::append_json_string(out, values[i]);
  }
  out.push_back(']');
}

}  // namespace

std::string compute_finding_id(const finding& f) {
  hasher h;
  h.add(f.detector);
  h.add(f.rule);
  h.add(f.account_id);
  h.add(f.principal);
  h.add(f.dedup_key);
  if (f.event_ids.empty()) {
    h.add(std::to_string(f.first_seen_ms));
  } else {
    for (const auto& id : f.event_ids) h.add(id);
  }
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.a),
                static_cast<unsigned long long>(h.b));
  return std::string(buf, 32);
}

std::string to_json(const finding& f) {
  std::string out;
  out.reserve(512 + f.evidence_json.size());
  out.push_back('{');
  field(out, "finding_id", f.finding_id, true);
  field(out, "detector", f.detector);
  field(out, "rule", f.rule);
  field(out, "severity", severity_name(f.severity));
  field(out, "title", f.title);
  field(out, "summary", f.summary);
  field(out, "environment", f.environment);
  field(out, "account_id", f.account_id);
  field(out, "region", f.region);
  field(out, "principal", f.principal);
  field(out, "source_ip", f.source_ip);
  field(out, "user_agent", f.user_agent);
  list_field(out, "event_ids", f.event_ids);
  list_field(out, "event_names", f.event_names);
  field(out, "first_seen", cloudtrail::format_time(f.first_seen_ms));
  field(out, "last_seen", cloudtrail::format_time(f.last_seen_ms));
  list_field(out, "mitre", f.mitre);
  out += ",\"evidence\":";
  out += f.evidence_json.empty() ? "{}" : f.evidence_json;
  field(out, "detector_version", f.detector_version);
  field(out, "host_version", f.host_version);
  out.push_back('}');
  return out;
}

}  // namespace trailhound::findings
