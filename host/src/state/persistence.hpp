// SPDX-License-Identifier: Apache-2.0
// Moves learned state between the engine's detector instances and the state store.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "state/state_store.hpp"

namespace trailhound::state {

// Host-side state (accounts seen) is stored under this instance name.
inline constexpr const char* HOST_STATE_INSTANCE = "trailhound.host";
inline constexpr uint32_t HOST_STATE_SCHEMA = 1;

struct persistence_report {
  std::vector<std::string> restored;  // instance ids
  std::vector<std::string> messages;  // old schema / corrupt state started fresh, save failures
};

// Call after engine::start(), before the first event. Never blocks a run: an old-schema or
// corrupt state is reported and the instance starts fresh.
persistence_report restore_all(state_store& store, engine::engine& eng, const std::string& env);
// Call after the scan. One transaction.
persistence_report save_all(state_store& store, engine::engine& eng, const std::string& env);

}  // namespace trailhound::state

namespace trailhound::state {

// Identity of an input file for the ledger: path, size, mtime and a fingerprint of its content
// (hash of the size, first and last 64 KiB: cheap, and changes whenever CloudTrail rewrites or
// appends). Returns false for stdin and unreadable files (never ledgered).
bool fingerprint(const std::string& path, ledger_entry& out);

}  // namespace trailhound::state
