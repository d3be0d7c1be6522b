// SPDX-License-Identifier: Apache-2.0
// Internals shared by the input layer's translation units; not part of the public API.
#pragma once

#include <string>

namespace trailhound::input::detail {

// strerror text for an errno value, thread-safe.
std::string errno_text(int err);

}  // namespace trailhound::input::detail
