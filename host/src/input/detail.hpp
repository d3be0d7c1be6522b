// SPDX-License-Identifier: Apache-2.0
// Internals shared by the input layer's translation units; not part of the public API.
#pragma once

#include <atomic>
#include <string>

namespace trailhound::input::detail {

// strerror text for an errno value, thread-safe.
std::string errno_text(int err);

// Tests only: split records with the byte-at-a-time scanner instead of the 64-byte block scanner
// (the two must agree on every input).
extern std::atomic<bool> scalar_record_scanner;

}  // namespace trailhound::input::detail
