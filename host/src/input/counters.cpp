// SPDX-License-Identifier: Apache-2.0
// Run-summary counters of the input layer.
#include "input/input.hpp"

namespace trailhound::input {

void input_counters::add(const discovery_result& d) {
  files_found += d.files.size();
  path_problems += d.problems.size();
  for (const auto& [reason, n] : d.skipped_by_reason) {
    files_skipped += n;
    skipped_by_reason[reason] += n;
  }
}

void input_counters::add(const loaded_file& f) {
  compressed_bytes += f.compressed_bytes;
  decompressed_bytes += f.decompressed_bytes;
  if (!f.fatal_error.empty()) {
    ++files_failed;
    return;
  }
  if (f.skipped) {
    ++files_skipped;
    ++skipped_by_reason[f.skip_reason];
    return;
  }
  ++files_loaded;
  ++files_by_format[format_name(f.format)];
  records += f.records.size();
  for (const record_error& e : f.errors) {
    if (e.index == no_record) {
      ++file_errors;
    } else {
      ++record_errors;
    }
  }
  // Errors beyond max_errors_per_file are not kept, but each still lost a record or not.
  record_errors += f.dropped_record_errors;
  file_errors += f.dropped_errors - f.dropped_record_errors;
  if (!f.errors.empty() || f.dropped_errors != 0) ++files_with_errors;
}

}  // namespace trailhound::input
