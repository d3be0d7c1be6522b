// SPDX-License-Identifier: Apache-2.0
// A detector as the host holds it after the size-checked copy of its descriptor.
#pragma once

#include <trailhound/plugin_abi.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/detector_spec.hpp"

namespace trailhound::plugins {

struct detector_binding {
  detector_spec spec;
  th_status (*create)(const th_host_api*, th_host_ctx*, const th_config*, void**) = nullptr;
  void (*destroy)(void*) = nullptr;
  th_status (*on_event)(void*, const th_event*) = nullptr;
  th_status (*on_tick)(void*, int64_t) = nullptr;
  th_status (*on_flush)(void*) = nullptr;
  th_status (*snapshot_state)(void*, const th_byte_sink*) = nullptr;
  th_status (*restore_state)(void*, uint32_t, const void*, uint64_t) = nullptr;
};

struct module_info {
  std::string file;  // shared object path, or "<in-process>"
  std::string name;
  std::string version;
  uint32_t abi_major = 0;
  uint32_t min_host_minor = 0;
  std::vector<detector_binding> detectors;
};

// A plugin the host refuses; what() is the one-line reason (without the file name).
class load_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Validates and copies a module descriptor the OBS way: zeroed host structs, copy of
// min(struct_size, sizeof), refusal of a struct_size larger than this host knows, a check of every
// required callback, every string copied at once. Throws load_error.
module_info copy_module(const th_module_desc* desc, const std::string& file);

// Calls the entry point and copies what it returns (used by the loader and the test harness).
module_info load_entry(th_module_entry_v1_fn entry, const std::string& file);

// The host_info handed to every module.
const th_host_info& host_info() noexcept;

}  // namespace trailhound::plugins
