// SPDX-License-Identifier: Apache-2.0
// Input discovery: files, recursive directories (S3 layout), stdin; ordering by delivery time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "input/detail.hpp"
#include "input/input.hpp"

namespace trailhound::input {
namespace {

namespace fs = std::filesystem;

struct file_id {
  uint64_t dev;
  uint64_t ino;
  bool operator==(const file_id&) const = default;
};

struct file_id_hash {
  size_t operator()(const file_id& f) const noexcept {
    return static_cast<size_t>(f.ino * 0x9E3779B97F4A7C15ull ^ f.dev);
  }
};

file_id id_of(const struct stat& st) noexcept {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

enum : uint8_t { under_digest = 1, under_insight = 2 };

uint8_t component_flags(std::string_view name) noexcept {
  if (name == "CloudTrail-Digest") return under_digest;
  if (name == "CloudTrail-Insight") return under_insight;
  return 0;
}

uint8_t path_flags(const std::string& path) {
  uint8_t flags = 0;
  for (const fs::path& part : fs::path(path)) flags |= component_flags(part.native());
  return flags;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

class walker {
 public:
  walker(const discovery_options& opts, discovery_result& out) : opts_(opts), out_(out) {}

  void add_argument(const std::string& arg) {
    if (arg == "-") {
      if (stdin_added_) {
        problem(arg, "standard input given more than once");
        return;
      }
      stdin_added_ = true;
      out_.files.push_back(input_file{arg, 0, {}});
      return;
    }
    struct stat st {};
    if (::stat(arg.c_str(), &st) != 0) {
      problem(arg, stat_failure(arg, errno));
      return;
    }
    const uint8_t flags = path_flags(arg);
    if (S_ISDIR(st.st_mode)) {
      walk(arg, st, flags);
      return;
    }
    std::vector<input_file> one;
    add_file(arg, fs::path(arg).filename().native(), st, flags, one);
    for (input_file& f : one) out_.files.push_back(std::move(f));
  }

 private:
  struct pending_dir {
    std::string path;
    uint8_t flags;
  };

  void skip(std::string path, std::string reason) {
    ++out_.skipped_by_reason[reason];
    out_.skipped.push_back(path_note{std::move(path), std::move(reason)});
  }

  void problem(std::string path, std::string reason) {
    out_.problems.push_back(path_note{std::move(path), std::move(reason)});
  }

  static std::string stat_failure(const std::string& path, int err) {
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
      return err == ENOENT ? "dangling symlink"
                           : "cannot follow symlink: " + detail::errno_text(err);
    return "cannot access: " + detail::errno_text(err);
  }

  // Is the symlinked directory `link` an ancestor of itself (a loop) rather than a duplicate?
  static bool is_loop(const std::string& link) {
    std::error_code ec;
    const fs::path target = fs::canonical(link, ec);
    if (ec) return false;
    const fs::path parent = fs::canonical(fs::path(link).parent_path(), ec);
    if (ec) return false;
    const std::string& t = target.native();
    const std::string& p = parent.native();
    return p.size() >= t.size() && p.compare(0, t.size(), t) == 0 &&
           (p.size() == t.size() || p[t.size()] == '/' || t == "/");
  }

  // `dir_fd`: the open directory the file is listed in (`name` relative to it), or AT_FDCWD.
  void add_file(std::string path, const std::string& name, const struct stat& st, uint8_t flags,
                std::vector<input_file>& found, int dir_fd = AT_FDCWD) {
    if ((flags & under_digest) != 0 || name.find("_CloudTrail-Digest_") != std::string_view::npos) {
      skip(std::move(path), "digest");
      return;
    }
    if ((flags & under_insight) != 0 ||
        name.find("_CloudTrail-Insight_") != std::string_view::npos) {
      skip(std::move(path), "insights");
      return;
    }
    if (!seen_files_.insert(id_of(st)).second) {
      skip(std::move(path), "duplicate");
      return;
    }
    const bool readable = dir_fd == AT_FDCWD ? ::access(path.c_str(), R_OK) == 0
                                             : ::faccessat(dir_fd, name.c_str(), R_OK, 0) == 0;
    if (!readable) {
      problem(std::move(path), "not readable: " + detail::errno_text(errno));
      return;
    }
    const uint64_t size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    out_.total_bytes += size;
    std::string key = delivery_time_key(name);
    found.push_back(input_file{std::move(path), size, std::move(key)});
  }

  // Depth-first with an explicit stack. Symlinked directories wait until the real tree is done,
  // so a directory reachable both ways is listed under its real path.
  void walk(const std::string& root, const struct stat& root_st, uint8_t root_flags) {
    if (!seen_dirs_.insert(id_of(root_st)).second) {
      skip(root, "duplicate directory");
      return;
    }
    std::vector<input_file> found;
    std::vector<pending_dir> stack{{root, root_flags}};
    std::vector<pending_dir> links;
    while (!stack.empty() || !links.empty()) {
      if (stack.empty()) {
        pending_dir link = std::move(links.back());
        links.pop_back();
        struct stat st {};
        if (::stat(link.path.c_str(), &st) != 0) {
          problem(link.path, stat_failure(link.path, errno));
          continue;
        }
        if (!seen_dirs_.insert(id_of(st)).second) {
          const bool loop = is_loop(link.path);
          skip(std::move(link.path), loop ? "symlink loop" : "duplicate directory");
          continue;
        }
        stack.push_back(std::move(link));
      }
      const pending_dir dir = std::move(stack.back());
      stack.pop_back();
      list_directory(dir, found, stack, links);
    }
    std::sort(found.begin(), found.end(), [](const input_file& a, const input_file& b) {
      return std::tie(a.delivery_time_key, a.path) < std::tie(b.delivery_time_key, b.path);
    });
    out_.files.reserve(out_.files.size() + found.size());
    for (input_file& f : found) out_.files.push_back(std::move(f));
  }

  void list_directory(const pending_dir& dir, std::vector<input_file>& found,
                      std::vector<pending_dir>& stack, std::vector<pending_dir>& links) {
    std::error_code ec;
    fs::directory_iterator it(dir.path, ec);
    if (ec) {
      problem(dir.path, "cannot open directory: " + ec.message());
      return;
    }
    // Entries are looked up relative to the directory (a walk of one path component, not of the
    // whole path: thousands of files per scan), and their own type comes from the listing.
    struct dir_handle {
      int fd;
      ~dir_handle() {
        if (fd >= 0) ::close(fd);
      }
    } handle{::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    const int dir_fd = handle.fd >= 0 ? handle.fd : AT_FDCWD;
    const auto stat_entry = [&](const std::string& path, const std::string& name, struct stat& st) {
      return dir_fd == AT_FDCWD ? ::stat(path.c_str(), &st) == 0
                                : ::fstatat(dir_fd, name.c_str(), &st, 0) == 0;
    };
    for (const fs::directory_iterator end; it != end; it.increment(ec)) {
      if (ec) break;
      const fs::path& entry_path = it->path();
      std::string path = entry_path.native();
      const std::string name = entry_path.filename().native();
      std::error_code tec;
      const bool symlink = it->is_symlink(tec);  // d_type; lstat only where it is unknown
      if (tec) {
        problem(std::move(path), "cannot stat: " + tec.message());
        continue;
      }
      struct stat st {};
      if (symlink) {
        if (!opts_.follow_symlinks) {
          skip(std::move(path), "symlink not followed");
          continue;
        }
        if (::stat(path.c_str(), &st) != 0) {
          problem(path, stat_failure(path, errno));
          continue;
        }
        if (S_ISDIR(st.st_mode)) {
          links.push_back(pending_dir{std::move(path),
                                      static_cast<uint8_t>(dir.flags | component_flags(name))});
        } else if (S_ISREG(st.st_mode)) {
          add_file(std::move(path), name, st, dir.flags, found);
        } else {
          skip(std::move(path), "not a regular file");
        }
        continue;
      }
      if (it->is_directory(tec)) {
        if (!stat_entry(path, name, st)) {
          problem(path, stat_failure(path, errno));
          continue;
        }
        if (!seen_dirs_.insert(id_of(st)).second) {
          skip(std::move(path), "duplicate directory");
          continue;
        }
        stack.push_back(
            pending_dir{std::move(path), static_cast<uint8_t>(dir.flags | component_flags(name))});
        continue;
      }
      if (!it->is_regular_file(tec)) {
        skip(std::move(path), "not a regular file");
        continue;
      }
      if (!stat_entry(path, name, st)) {
        problem(path, stat_failure(path, errno));
        continue;
      }
      add_file(std::move(path), name, st, dir.flags, found, dir_fd);
    }
    if (ec) problem(dir.path, "cannot read directory: " + ec.message());
  }

  const discovery_options& opts_;
  discovery_result& out_;
  std::unordered_set<file_id, file_id_hash> seen_files_;
  std::unordered_set<file_id, file_id_hash> seen_dirs_;
  bool stdin_added_ = false;
};

}  // namespace

std::string delivery_time_key(std::string_view name) {
  static constexpr std::string_view tag = "_CloudTrail_";
  const size_t at = name.find(tag);
  if (at == std::string_view::npos) return {};
  const size_t region_end = name.find('_', at + tag.size());
  if (region_end == std::string_view::npos) return {};
  const std::string_view ts = name.substr(region_end + 1);
  // YYYYMMDDTHHmmZ followed by '_'
  if (ts.size() < 15 || ts[8] != 'T' || ts[13] != 'Z' || ts[14] != '_') return {};
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12})
    if (!is_digit(ts[i])) return {};
  return std::string(ts.substr(0, 14));
}

discovery_result discover(const std::vector<std::string>& paths, const discovery_options& opts) {
  discovery_result out;
  walker w(opts, out);
  for (const std::string& p : paths) w.add_argument(p);
  return out;
}

}  // namespace trailhound::input
