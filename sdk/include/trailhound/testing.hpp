// SPDX-License-Identifier: Apache-2.0
// Test harness for detector authors: feed CloudTrail records to a module linked into the test
// executable (no .so, no loader) through the real host engine, then assert on the findings.
#pragma once

#include <trailhound/plugin_abi.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// The entry point of the module under test, linked into the test executable.
extern "C" const th_module_desc* th_module_entry_v1(const th_host_info* host);

namespace trailhound::testing {

// A finding as the host collected it (after validation and stamping).
struct collected_finding {
  std::string finding_id, detector, rule, severity, title, summary;
  std::string account_id, region, principal, source_ip, user_agent;
  std::vector<std::string> event_ids, event_names, mitre;
  std::string first_seen, last_seen;  // ISO 8601 UTC
  std::string evidence_json;          // the evidence object as JSON text
  std::string json;                   // the whole finding as the JSONL sink writes it

  // A top-level evidence member rendered as text: strings bare, anything else as JSON.
  // Returns "" when absent.
  std::string evidence(std::string_view key) const;
};

class harness {
 public:
  // `entry` is the module's th_module_entry_v1, linked into the test executable.
  explicit harness(th_module_entry_v1_fn entry);
  ~harness();
  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  // TOML text merged into the configuration before start(), e.g.
  //   trusted_cidrs = ["203.0.113.0/24"]
  //   [detectors.iam-keys-enumeration.params]
  //   threshold = 5
  harness& config(std::string_view toml);

  // Creates the detector instances (called implicitly by the first feed). Throws
  // std::runtime_error with the reason when config or create fails.
  void start();

  // Feeds one CloudTrail record (JSON text). Throws std::runtime_error when it is malformed.
  void feed(std::string_view record_json);
  void feed(const std::vector<std::string>& records);
  // Ends input: final tick and flush of every instance. Further feeds start nothing new.
  void finish();

  // Findings so far (call finish() first for window-closing detectors).
  const std::vector<collected_finding>& findings() const;
  std::vector<collected_finding> findings(std::string_view rule) const;
  size_t count(std::string_view rule) const;
  // Errors and quarantines reported by the host about the module's instances.
  std::vector<std::string> errors() const;

  // The learned state of a detector instance (snapshot_state), for persistence tests.
  std::string snapshot(std::string_view detector_id);
  // Restores state into a detector instance (call after start()).
  void restore(std::string_view detector_id, std::string_view bytes);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// RFC 7386 JSON merge patch: `base` with `patch` applied ("null" removes a member). Lets a test
// start from a realistic record and change only the fields under test.
std::string merge_json(std::string_view base, std::string_view patch);

// Realistic base records (full CloudTrail structure, account 111122223333, us-east-1).
namespace records {
// An IAM user "alice" calling with a long-term key AKIA... from 198.51.100.10.
std::string iam_user(std::string_view event_source, std::string_view event_name);
// An assumed-role session of role "Deploy" (sessionContext with sessionIssuer).
std::string assumed_role(std::string_view event_source, std::string_view event_name);
// The root user of account 111122223333.
std::string root(std::string_view event_source, std::string_view event_name);
// An AWS service acting (userIdentity.type AWSService, sourceIPAddress "<service>").
std::string aws_service(std::string_view event_source, std::string_view event_name);
}  // namespace records

// Event times for tests that feed days of history (the behavioural detectors' tests), in seconds
// since 1970: `using namespace trailhound::testing::timeline;`.
namespace timeline {
// 2026-11-01T00:00:00Z: day 0.
inline constexpr int64_t kStart = 1793491200;
// ISO 8601 UTC text of `secs`, as CloudTrail writes eventTime: "2026-11-01T00:00:00Z".
inline std::string iso(int64_t secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
// Day `d` (0-based from kStart), hour, minute, second.
inline int64_t at_time(int d, int h, int m = 0, int s = 0) {
  return kStart + d * 86400LL + h * 3600LL + m * 60LL + s;
}
}  // namespace timeline

}  // namespace trailhound::testing
