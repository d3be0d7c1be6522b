// SPDX-License-Identifier: Apache-2.0
// Plugin loading: Boost.DLL with rtld_now, real dlerror() text, ABI negotiation via copy_module.
#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstring>
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

void check_ownership(const std::string& path, bool is_directory) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw load_error("cannot stat: " + std::string(std::strerror(errno)));
  const char* what = is_directory ? "plugin directory" : "plugin file";
  // Like sshd's StrictModes: anyone who can write the code can run it inside the host.
  if ((st.st_mode & S_IWOTH) && !(is_directory && (st.st_mode & S_ISVTX)))
    throw load_error(std::string(what) +
                     " is world-writable (use --allow-insecure-plugins to load it anyway)");
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    throw load_error(
        std::string(what) + " is owned by uid " + std::to_string(st.st_uid) +
        ", neither root nor the current user (use --allow-insecure-plugins to load it anyway)");
}

std::string file_sha256(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw load_error("cannot read for hashing: " + std::string(std::strerror(errno)));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
  std::fclose(f);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

load_report load_plugins(const std::vector<std::string>& dirs,
                         const std::vector<std::string>& optional_dirs, const trust_policy& trust) {
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
    if (!trust.allow_insecure) {
      try {
        check_ownership(dir, true);
      } catch (const load_error& e) {
        report.refusals.push_back(dir + ": " + e.what());
        continue;
      }
    }
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
      try {
        if (!trust.allow_insecure) check_ownership(file, false);
        auto pin = trust.sha256.find(file);
        if (pin == trust.sha256.end()) pin = trust.sha256.find(fs::path(file).filename().string());
        if (pin != trust.sha256.end()) {
          std::string actual = file_sha256(file);
          if (actual != pin->second)
            throw load_error("SHA-256 " + actual + " does not match the pinned " + pin->second);
        }
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
