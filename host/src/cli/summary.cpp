// SPDX-License-Identifier: Apache-2.0
// Run summary: files, records, findings, detectors.
#include "cli/summary.hpp"

#include <string>

#include "cloudtrail/record_parser.hpp"
#include "common/severity.hpp"

namespace trailhound::cli {
namespace {

std::string reasons(const std::map<std::string, uint64_t>& by_reason) {
  std::string out;
  for (const auto& [reason, n] : by_reason) {
    out += out.empty() ? " (" : ", ";
    out += reason + ": " + std::to_string(n);
  }
  return out.empty() ? out : out + ")";
}

}  // namespace

void print_summary(std::FILE* out, const pipeline::scan_summary& s,
                   const findings::collector_stats& f,
                   const std::vector<engine::instance_stats>& detectors) {
  const auto& in = s.input;
  std::fprintf(out, "\ntrailhound summary\n");
  std::fprintf(
      out, "  files:    %llu found, %llu read, %llu skipped%s, %llu failed, %llu path problems\n",
      (unsigned long long)in.files_found, (unsigned long long)in.files_loaded,
      (unsigned long long)in.files_skipped, reasons(in.skipped_by_reason).c_str(),
      (unsigned long long)in.files_failed, (unsigned long long)in.path_problems);
  if (!s.file_problems_by_reason.empty())
    std::fprintf(out, "            file problems%s\n", reasons(s.file_problems_by_reason).c_str());
  std::fprintf(out, "  records:  %llu read, %llu malformed, %llu duplicate, %llu processed\n",
               (unsigned long long)(s.records_parsed + s.records_malformed + in.record_errors),
               (unsigned long long)(s.records_malformed + in.record_errors),
               (unsigned long long)s.records_duplicate, (unsigned long long)s.records_dispatched);
  if (!s.malformed_by_reason.empty())
    std::fprintf(out, "            skipped%s\n", reasons(s.malformed_by_reason).c_str());
  if (s.records_dispatched)
    std::fprintf(out, "  events:   %s .. %s\n", cloudtrail::format_time(s.first_event_ms).c_str(),
                 cloudtrail::format_time(s.last_event_ms).c_str());
  std::fprintf(out, "  findings: %llu (critical %llu, high %llu, medium %llu, low %llu, info %llu)",
               (unsigned long long)f.emitted, (unsigned long long)f.by_severity[4],
               (unsigned long long)f.by_severity[3], (unsigned long long)f.by_severity[2],
               (unsigned long long)f.by_severity[1], (unsigned long long)f.by_severity[0]);
  if (f.suppressed || f.disabled || f.duplicates)
    std::fprintf(out, "; %llu suppressed, %llu from disabled rules, %llu repeated",
                 (unsigned long long)f.suppressed, (unsigned long long)f.disabled,
                 (unsigned long long)f.duplicates);
  std::fprintf(out, "\n  detectors:\n    %-24s %10s %9s %7s %10s  %s\n", "ID", "EVENTS", "FINDINGS",
               "ERRORS", "TIME(ms)", "STATUS");
  for (const auto& d : detectors) {
    std::string status = d.quarantined ? "quarantined: " + d.quarantine_reason : "ok";
    if (d.rejected_findings)
      status += ", " + std::to_string(d.rejected_findings) + " findings rejected";
    std::fprintf(out, "    %-24s %10llu %9llu %7llu %10.1f  %s\n", d.instance_id.c_str(),
                 (unsigned long long)d.events, (unsigned long long)d.findings,
                 (unsigned long long)d.errors, d.busy_ns / 1e6, status.c_str());
  }
  double rate = s.seconds > 0 ? s.records_parsed / s.seconds : 0;
  std::fprintf(out, "  elapsed:  %.2f s, %.0f records/s", s.seconds, rate);
  if (s.problems_unreported)
    std::fprintf(out, "; %llu more problems not shown", (unsigned long long)s.problems_unreported);
  std::fprintf(out, "\n");
}

}  // namespace trailhound::cli
