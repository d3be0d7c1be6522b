// SPDX-License-Identifier: Apache-2.0
// A finding as the host keeps it: the output contract of DESIGN.md section 3.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trailhound::findings {

struct finding {
  std::string finding_id;
  std::string detector;
  std::string rule;
  int32_t severity = 2;  // TH_SEVERITY_*
  std::string title;
  std::string summary;
  std::string environment;
  std::string account_id;
  std::string region;
  std::string principal;
  std::string source_ip;
  std::string user_agent;
  std::vector<std::string> event_ids;
  std::vector<std::string> event_names;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::vector<std::string> mitre;
  std::string evidence_json = "{}";  // a compact JSON object
  std::string detector_version;
  std::string host_version;
  std::string dedup_key;  // input to finding_id, not written
};

// The stable id: the same detector, rule, account, principal, key and evidence events give the
// same id in every run.
std::string compute_finding_id(const finding& f);

// One JSON object (no newline) with exactly the fields of the output contract.
std::string to_json(const finding& f);

}  // namespace trailhound::findings
