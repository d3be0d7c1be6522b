// SPDX-License-Identifier: Apache-2.0
// Plugin loading: Boost.DLL with rtld_now, real dlerror() text, ABI negotiation via copy_module.
#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>

namespace trailhound::plugins {
namespace fs = std::filesystem;
namespace {

// Loaded libraries stay alive for the whole process: detector code and descriptors live there.
std::list<boost::dll::shared_library>& keep_alive() {
  static std::list<boost::dll::shared_library> libs;
  return libs;
}
std::mutex& keep_alive_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

module_info load_plugin_file(const std::string& path) {
  boost::dll::shared_library lib;
  boost::dll::fs::error_code ec;
  lib.load(boost::dll::fs::path(path), ec,
           boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    // Boost reports "Bad file descriptor"; the dynamic linker knows the real reason.
    const char* why = dlerror();
    std::string reason = why ? why : ec.message();
    // dlerror() repeats the path first: keep only what follows it.
    if (auto pos = reason.find(path + ": "); pos == 0) reason = reason.substr(path.size() + 2);
    throw load_error("not a loadable shared object: " + reason);
  }
  if (!lib.has(TH_MODULE_ENTRY_V1_SYMBOL))
    throw load_error(std::string("missing entry symbol ") + TH_MODULE_ENTRY_V1_SYMBOL +
                     " (not a trailhound plugin, or built for another ABI major)");
  auto& entry = lib.get<const th_module_desc*(const th_host_info*)>(TH_MODULE_ENTRY_V1_SYMBOL);
  module_info info = load_entry(&entry, path);
  std::lock_guard<std::mutex> lock(keep_alive_mutex());
  keep_alive().push_back(std::move(lib));
  return info;
}

load_report load_plugins(const std::vector<std::string>& dirs,
                         const std::vector<std::string>& optional_dirs) {
  load_report report;
  std::map<std::string, std::string> owner;  // detector id -> file
  std::vector<std::string> seen_dirs;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(dir, ec);
    std::string key = ec ? dir : canon.string();
    if (std::find(seen_dirs.begin(), seen_dirs.end(), key) != seen_dirs.end()) continue;
    seen_dirs.push_back(key);
    if (!fs::is_directory(dir, ec)) {
      if (std::find(optional_dirs.begin(), optional_dirs.end(), dir) == optional_dirs.end())
        report.refusals.push_back(dir + ": plugin directory does not exist");
      continue;
    }
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
      try {
        module_info m = load_plugin_file(file);
        for (const auto& d : m.detectors) {
          auto it = owner.find(d.spec.id);
          if (it != owner.end())
            throw load_error("duplicate detector id '" + d.spec.id + "', already loaded from " +
                             it->second);
        }
        for (const auto& d : m.detectors) owner[d.spec.id] = file;
        report.modules.push_back(std::move(m));
      } catch (const load_error& e) {
        report.refusals.push_back(file + ": " + e.what());
      }
    }
  }
  return report;
}

std::vector<std::string> builtin_plugin_dirs() {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path().parent_path() / TRAILHOUND_PLUGIN_INSTALL_DIR;
    out.push_back(dir.lexically_normal().string());
  }
  return out;
}

}  // namespace trailhound::plugins
