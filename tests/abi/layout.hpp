// SPDX-License-Identifier: Apache-2.0
// One row per ABI struct (field "" = sizeof) or field (offsetof), for the layout tests.
#pragma once

#include <cstddef>
#include <vector>

struct layout_entry {
  const char* type;
  const char* field;
  size_t value;
};

const std::vector<layout_entry>& layout_v1_0();     // from tests/abi/v1_0 (frozen)
const std::vector<layout_entry>& layout_current();  // from sdk/include (what we ship)
