// SPDX-License-Identifier: Apache-2.0
// Finds and loads plugin shared objects with Boost.DLL; never unloads them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plugins/binding.hpp"

namespace trailhound::plugins {

struct load_report {
  std::vector<module_info> modules;   // accepted, in load order
  std::vector<std::string> refusals;  // "path: reason", one line each
};

// What the loader trusts (see README, "Security model").
struct trust_policy {
  // Accept plugin files/directories that are world-writable or owned by another non-root user.
  bool allow_insecure = false;
  // File name or full path -> lowercase hex SHA-256; a pinned plugin whose content differs is
  // refused.
  std::map<std::string, std::string> sha256;
};

// Loads one shared object. Throws load_error with the reason (dlerror() text for dlopen failures).
module_info load_plugin_file(const std::string& path);

// Refuses (load_error) a path that is world-writable or owned by neither root nor us.
void check_ownership(const std::string& path, bool is_directory);
// Hex SHA-256 of a file's content.
std::string file_sha256(const std::string& path);

// Loads every *.so in `dirs` (not recursive, sorted by name), serially, refusing duplicates of a
// detector id already loaded (both paths named). A missing directory is skipped silently when
// `optional_dirs` holds it (the built-in locations), reported otherwise.
load_report load_plugins(const std::vector<std::string>& dirs,
                         const std::vector<std::string>& optional_dirs = {},
                         const trust_policy& trust = {});

// Built-in plugin directories relative to the running binary: <exe_dir>/../lib/trailhound/plugins
// (the install layout and the build tree's layout). Never the current directory.
std::vector<std::string> builtin_plugin_dirs();

}  // namespace trailhound::plugins
