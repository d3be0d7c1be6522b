// SPDX-License-Identifier: Apache-2.0
// Command-line front end: subcommands scan, plugins, config, version.
#pragma once

#include <string>
#include <vector>

namespace trailhound::cli {

// Exit codes (documented in the README).
inline constexpr int EXIT_OK = 0;
inline constexpr int EXIT_USAGE = 1;     // bad command line or configuration
inline constexpr int EXIT_INPUT = 2;     // some input could not be read or parsed
inline constexpr int EXIT_FINDINGS = 3;  // --fail-on threshold reached
inline constexpr int EXIT_HUNG = 4;      // a detector call never returned: the scan was stopped

int run(int argc, char** argv);

}  // namespace trailhound::cli
