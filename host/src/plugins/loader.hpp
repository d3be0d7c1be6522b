// SPDX-License-Identifier: Apache-2.0
// Finds and loads plugin shared objects with Boost.DLL; never unloads them.
#pragma once

#include <string>
#include <vector>

#include "plugins/binding.hpp"

namespace trailhound::plugins {

struct load_report {
  std::vector<module_info> modules;   // accepted, in load order
  std::vector<std::string> refusals;  // "path: reason", one line each
};

// Loads one shared object. Throws load_error with the reason (dlerror() text for dlopen failures).
module_info load_plugin_file(const std::string& path);

// Loads every *.so in `dirs` (not recursive, sorted by name), serially, refusing duplicates of a
// detector id already loaded (both paths named). A missing directory is skipped silently when
// `optional_dirs` holds it (the built-in locations), reported otherwise.
load_report load_plugins(const std::vector<std::string>& dirs,
                         const std::vector<std::string>& optional_dirs = {});

// Built-in plugin directories relative to the running binary: <exe_dir>/../lib/trailhound/plugins
// (the install layout and the build tree's layout). Never the current directory.
std::vector<std::string> builtin_plugin_dirs();

}  // namespace trailhound::plugins
