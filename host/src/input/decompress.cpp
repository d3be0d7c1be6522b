// SPDX-License-Identifier: Apache-2.0
// Reading whole files or stdin, gzip inflation (libdeflate, zlib to salvage damaged members).
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#include "input/detail.hpp"
#include "input/input.hpp"

namespace trailhound::input {
namespace detail {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r: returns the message, possibly not in buf.
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace detail

namespace {

// One decompressor per thread, freed when the thread exits.
libdeflate_decompressor* thread_decompressor() noexcept {
  struct holder {
    libdeflate_decompressor* d = nullptr;
    ~holder() {
      if (d != nullptr) libdeflate_free_decompressor(d);
    }
  };
  thread_local holder h;
  if (h.d == nullptr) h.d = libdeflate_alloc_decompressor();
  return h.d;
}

bool is_gzip(const std::string& b) noexcept {
  return b.size() >= 2 && static_cast<uint8_t>(b[0]) == 0x1f && static_cast<uint8_t>(b[1]) == 0x8b;
}

// Reads all of fd into out; "" or an error text.
std::string read_fd(int fd, uint64_t max_bytes, std::string& out) {
  size_t len = 0;
  size_t cap = 64 * 1024;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes) return "file larger than max_file_bytes";
    cap = static_cast<size_t>(st.st_size) + 1;  // +1: EOF is seen without growing
  }
  out.resize(cap);
  for (;;) {
    if (len == out.size()) {
      if (out.size() > max_bytes) return "file larger than max_file_bytes";
      const uint64_t grown = std::max<uint64_t>(out.size() * 2, 64 * 1024);
      out.resize(static_cast<size_t>(std::min<uint64_t>(grown, max_bytes + 1)));
    }
    const ssize_t n = ::read(fd, out.data() + len, out.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return "read error: " + detail::errno_text(errno);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  out.resize(len);
  if (len > max_bytes) return "file larger than max_file_bytes";
  return {};
}

std::string read_all(const std::string& path, uint64_t max_bytes, std::string& out) {
  if (path == "-") return read_fd(STDIN_FILENO, max_bytes, out);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open: " + detail::errno_text(errno);
  std::string err = read_fd(fd, max_bytes, out);
  ::close(fd);
  return err;
}

struct inflate_outcome {
  std::string fatal;    // no usable content
  std::string warning;  // content usable (possibly a salvaged prefix)
};

// zlib streaming inflate of in[0, n) appended at out[pos]: keeps everything decoded before the
// point of damage. Handles further members. Returns the new end of the output.
size_t zlib_salvage(const uint8_t* in, size_t n, std::string& out, size_t pos, uint64_t max_out,
                    inflate_outcome& res) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    res.fatal = "out of memory (zlib)";
    return pos;
  }
  size_t fed = 0;  // bytes of `in` handed to zlib so far
  bool clean = false;
  for (;;) {
    if (out.size() - pos < 64 * 1024) {
      if (out.size() >= max_out) {
        // Full: fine only if zlib has nothing more to give.
        if (out.size() == pos) {
          res.fatal = "decompressed size exceeds max_file_bytes";
          break;
        }
      } else {
        const uint64_t grown = std::max<uint64_t>(out.size() * 2, pos + (1u << 20));
        out.resize(static_cast<size_t>(std::min<uint64_t>(grown, max_out)));
      }
    }
    if (zs.avail_in == 0 && fed < n) {
      const size_t chunk = std::min<size_t>(n - fed, 1u << 30);
      zs.next_in = const_cast<Bytef*>(in + fed);
      zs.avail_in = static_cast<uInt>(chunk);
      fed += chunk;
    }
    const size_t room = std::min<size_t>(out.size() - pos, UINT_MAX);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + pos);
    zs.avail_out = static_cast<uInt>(room);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    pos += room - zs.avail_out;
    if (ret == Z_STREAM_END) {
      const size_t left = zs.avail_in + (n - fed);
      const uint8_t* next = zs.next_in;
      if (left >= 2 && zs.avail_in >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      clean = true;  // bytes after the last member are ignored
      break;
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
    break;  // Z_BUF_ERROR with input exhausted (truncated), Z_DATA_ERROR, Z_MEM_ERROR...
  }
  inflateEnd(&zs);
  if (res.fatal.empty() && !clean)
    res.warning = "truncated or corrupt gzip after " + std::to_string(pos) + " bytes";
  return pos;
}

// Grows c to hold `need` bytes of content and the padding, keeping its first `keep` bytes. Not
// zero-filled: inflate writes every byte that is read later.
void reserve_copy(parse_copy& c, size_t need, size_t keep) {
  const size_t capacity = need + PARSE_COPY_PADDING;
  if (capacity <= c.capacity) return;
  std::unique_ptr<char[]> bigger(new char[capacity]);
  if (keep > 0) std::memcpy(bigger.get(), c.bytes.get(), keep);
  c.bytes = std::move(bigger);
  c.capacity = capacity;
}

// Whole-buffer libdeflate inflate of every gzip member into `copy`, then `out` = a copy of it;
// zlib salvage (into `out` only, `copy` dropped) if libdeflate rejects a member.
inflate_outcome gunzip(const std::string& in, uint64_t max_out, parse_copy& copy,
                       std::string& out) {
  inflate_outcome res;
  libdeflate_decompressor* d = thread_decompressor();
  if (d == nullptr) {
    res.fatal = "out of memory (decompressor)";
    return res;
  }
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  // Size guess: the last member's ISIZE, exact for a single-member file below 4 GiB. It is
  // trusted up to 64x the compressed size (CloudTrail JSON inflates ~10-30x): beyond that it
  // may be garbage from a truncated file, and allocating it would waste memory. Otherwise, or
  // when it is too small (multi-member), 8x, doubled on demand.
  uint64_t guess = std::max<uint64_t>(uint64_t{8} * n, 64 * 1024);
  if (n >= 18) {
    const uint32_t isize =
        static_cast<uint32_t>(src[n - 4]) | static_cast<uint32_t>(src[n - 3]) << 8 |
        static_cast<uint32_t>(src[n - 2]) << 16 | static_cast<uint32_t>(src[n - 1]) << 24;
    if (isize >= n / 2 && isize <= uint64_t{64} * n + 4096) guess = isize;
  }
  size_t cap = static_cast<size_t>(std::min<uint64_t>(guess, max_out));
  reserve_copy(copy, cap, 0);
  size_t in_pos = 0;
  size_t out_pos = 0;
  bool salvaged = false;
  while (in_pos < n) {
    const size_t left = n - in_pos;
    if (left < 2 || src[in_pos] != 0x1f || src[in_pos + 1] != 0x8b) {
      if (std::all_of(src + in_pos, src + n, [](uint8_t b) { return b == 0; })) break;
      res.warning = "ignored " + std::to_string(left) + " bytes after the gzip data";
      break;
    }
    size_t used_in = 0;
    size_t used_out = 0;
    const libdeflate_result r = libdeflate_gzip_decompress_ex(
        d, src + in_pos, left, copy.bytes.get() + out_pos, cap - out_pos, &used_in, &used_out);
    if (r == LIBDEFLATE_SUCCESS) {
      in_pos += used_in;
      out_pos += used_out;
      continue;
    }
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
      if (cap >= max_out) {
        res.fatal = "decompressed size exceeds max_file_bytes";
        break;
      }
      cap = static_cast<size_t>(std::min<uint64_t>(uint64_t{2} * cap, max_out));
      reserve_copy(copy, cap, out_pos);
      continue;
    }
    out.assign(copy.bytes.get(), out_pos);
    copy = parse_copy{};
    out_pos = zlib_salvage(src + in_pos, left, out, out_pos, max_out, res);
    salvaged = true;
    break;
  }
  if (!res.fatal.empty()) {
    copy = parse_copy{};
    out.clear();
    return res;
  }
  if (salvaged) {
    out.resize(out_pos);
  } else {
    out.assign(copy.bytes.get(), out_pos);
    copy.size = out_pos;
    copy.bytes[out_pos] = '\0';
  }
  return res;
}

void decode_and_split(loaded_file& f, std::string&& raw, const limits& lim) {
  f.compressed_bytes = raw.size();
  if (raw.empty()) {
    f.skipped = true;
    f.skip_reason = "empty";
    return;
  }
  if (is_gzip(raw)) {
    f.gzip = true;
    inflate_outcome res = gunzip(raw, lim.max_file_bytes, f.copy, f.text);
    raw = std::string();
    if (!res.fatal.empty()) {
      f.text = std::string();
      f.copy = parse_copy{};
      f.fatal_error = std::move(res.fatal);
      return;
    }
    if (!res.warning.empty())
      f.errors.push_back(record_error{no_record, f.text.size(), 0, std::move(res.warning)});
  } else {
    if (raw.size() > lim.max_file_bytes) {
      f.fatal_error = "file larger than max_file_bytes";
      return;
    }
    f.text = std::move(raw);
  }
  f.decompressed_bytes = f.text.size();
  if (lim.defer_split && f.has_parse_copy() && f.errors.empty()) {
    f.split_later = lim;
    return;
  }
  split_records(f, lim);
}

void fail_out_of_memory(loaded_file& f) noexcept {
  f.text = std::string();
  f.copy = parse_copy{};
  f.records.clear();
  f.errors.clear();
  f.fatal_error = "out of memory";
}

}  // namespace

loaded_file load_buffer(std::string path, std::string bytes, const limits& lim) noexcept {
  loaded_file f;
  try {
    f.path = std::move(path);
    decode_and_split(f, std::move(bytes), lim);
  } catch (...) {  // std::bad_alloc
    fail_out_of_memory(f);
  }
  return f;
}

loaded_file load_file(const input_file& in, const limits& lim) noexcept {
  loaded_file f;
  try {
    f.path = in.path;
    std::string raw;
    std::string err = read_all(in.path, lim.max_file_bytes, raw);
    if (!err.empty()) {
      f.fatal_error = std::move(err);
      return f;
    }
    decode_and_split(f, std::move(raw), lim);
  } catch (...) {  // std::bad_alloc
    fail_out_of_memory(f);
  }
  return f;
}

}  // namespace trailhound::input
