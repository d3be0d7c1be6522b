// SPDX-License-Identifier: Apache-2.0
// Input layer: find CloudTrail log files, read and decompress them, split them into records.
//
// Typical use by the engine:
//
//   auto found = input::discover(args, {});          // once; never throws for bad paths
//   for (const auto& f : found.files) {                // in this order (delivery time)
//     input::loaded_file lf = input::load_file(f, lim);  // noexcept; any thread
//     if (!lf.fatal_error.empty()) { /* log lf.path + lf.fatal_error */ continue; }
//     if (lf.skipped) { /* count lf.skip_reason */ continue; }
//     for (const auto& e : lf.errors) { /* log lf.path, e.index, e.line, e.reason */ }
//     for (const auto& r : lf.records) parse(lf.record(r));  // RapidJSON on a scratch copy
//   }
//
// The splitter only finds record boundaries (matching braces outside strings, depth and size
// caps); it does not validate a record's syntax, encoding or fields: that is the parser's job.
// A record handed out is always a byte range that starts with '{' and ends with the matching
// '}', nested at most limits::max_depth deep and at most limits::max_record_bytes long.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trailhound::input {

// ---------------------------------------------------------------------------------------------
// Limits

struct limits {
  // Largest file accepted, after decompression (and largest plain file). Bigger -> fatal_error.
  uint64_t max_file_bytes = uint64_t{4} << 30;
  // Largest single record; bigger -> record error "record larger than max_record_bytes".
  uint64_t max_record_bytes = uint64_t{16} << 20;
  // Deepest nesting of a record, the record's own object counting as 1. Deeper -> record error
  // "nesting deeper than <max_depth>", detected while scanning, in constant stack.
  uint32_t max_depth = 64;
  // At most this many entries are kept in loaded_file::errors; the rest only counted.
  uint32_t max_errors_per_file = 1000;
  // Leave clean gzip content unsplit (loaded_file::split_deferred): the caller parses the whole
  // file in one pass and calls split_records() only if that fails (cloudtrail::parse_file).
  bool defer_split = false;
};

// ---------------------------------------------------------------------------------------------
// Discovery

struct discovery_options {
  // Follow symbolic links met while walking a directory (to files and to directories).
  // Directory loops and directories reached twice are detected by device+inode and skipped.
  // Links given directly as arguments are always followed.
  bool follow_symlinks = true;
};

struct input_file {
  std::string path;               // as found ("-" means standard input)
  uint64_t size = 0;              // bytes on disk; 0 for stdin and other non-regular files
  std::string delivery_time_key;  // "20261120T0005Z" from the CloudTrail file name, or ""
};

struct path_note {
  std::string path;
  std::string reason;
};

struct discovery_result {
  // Files to load, in order. Arguments keep their command-line order. The files found under
  // one directory argument are sorted by (delivery_time_key, path): delivery_time_key is the
  // <YYYYMMDDTHHmmZ> of `<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json.gz`, or "" for
  // files not named that way, which therefore come first (in path order). The same file
  // (device+inode) is listed once.
  std::vector<input_file> files;
  // Not loaded, on purpose. Reasons: "digest", "insights" (by name or path component
  // CloudTrail-Digest / CloudTrail-Insight), "duplicate", "symlink loop", "duplicate directory",
  // "symlink not followed", "not a regular file".
  std::vector<path_note> skipped;
  // Could not be used: missing argument, dangling symlink, unreadable file or directory.
  // Reason is a short text such as "dangling symlink" or "cannot open directory: Permission
  // denied". Never fatal: discovery goes on with the other paths.
  std::vector<path_note> problems;
  std::map<std::string, uint64_t> skipped_by_reason;
  uint64_t total_bytes = 0;  // sum of files[].size
};

// Walks the arguments: files, directories (recursively, std::filesystem) or "-" for stdin.
// Errors on individual paths are reported in `problems`; only std::bad_alloc escapes.
// Linear in the number of entries (plus the sort), fine for 10^5+ small files.
discovery_result discover(const std::vector<std::string>& paths,
                          const discovery_options& opts = {});

// "20261120T0005Z" for "111122223333_CloudTrail_us-east-1_20261120T0005Z_AbCd.json.gz",
// "" when the file name does not follow the CloudTrail naming scheme.
std::string delivery_time_key(std::string_view file_name);

// ---------------------------------------------------------------------------------------------
// Loading and splitting

enum class file_format : uint8_t {
  unknown = 0,    // empty, unreadable or not recognised
  cloudtrail,     // {"Records":[{...},...]} (S3 delivery); concatenated such objects too
  ndjson,         // one object per line; also a stream of (pretty-printed) objects, or a
                  // single object that is a record
  json_array,     // [{...},{...}]
  lookup_events,  // `aws cloudtrail lookup-events` output: {"Events":[{"CloudTrailEvent":"..."}]}
                  // (also its Events as an array or one element per line)
  digest,         // CloudTrail digest file (skipped)
  insights,       // CloudTrail Insights file (skipped)
};

// "unknown", "cloudtrail", "ndjson", "json-array", "lookup-events", "digest", "insights".
const char* format_name(file_format f) noexcept;

// One record: bytes [offset, offset + length) of loaded_file::text.
struct record_ref {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t index = 0;  // position of the record in the file, counting rejected records too
};

inline constexpr uint32_t no_record = UINT32_MAX;

// A problem found while reading or splitting; the caller adds the path. Record errors (a record
// was lost; index set, offset = where the record starts):
//   "truncated record", "nesting deeper than <N>", "record larger than max_record_bytes",
//   "record is not a JSON object", "line is not a JSON object" (NDJSON),
//   "malformed record: unexpected 'x' at offset <O>" (also "mismatched ']'", "raw newline in a
//   string", "line ends inside the record", "not closed before the next record"),
//   "CloudTrailEvent is not a string", "Events element has no CloudTrailEvent",
//   "invalid escape in CloudTrailEvent", "CloudTrailEvent: <problem of the decoded record>".
// File errors (index == no_record, offset = the offending byte): "truncated or corrupt gzip
// after <N> bytes", "ignored <N> bytes after the gzip data", "not a CloudTrail log (no
// Records)", "not a CloudTrail log (not JSON)", "Records is not an array", "truncated file:
// array not closed", "unexpected 'x' between records at offset <O>", "missing ',' between
// records at offset <O>", "too many structure errors, rest of the file skipped", ...
// After a structure error the splitter resynchronises on the next record start, so one bad
// record costs only itself; records before and after it are still returned.
struct record_error {
  uint32_t index = no_record;  // record position (shares record_ref::index numbering), or
                               // no_record for an error about the file or its structure
  uint64_t offset = 0;         // byte offset in the decompressed content
  uint64_t line = 0;           // 1-based line of `offset` in the decompressed content
  std::string reason;
};

// A second copy of loaded_file::text for in-situ parsing: the parser overwrites what it parses,
// and raw_json must keep pointing at the original. gzip content is inflated straight into it (a
// std::string would be zero-filled first) and `text` is copied from it while it is hot in the
// cache. Usable when `bytes` is set and size == text.size(); bytes[size] is '\0' and
// PARSE_COPY_PADDING bytes follow it (room for the parser's 16-byte SIMD reads).
inline constexpr size_t PARSE_COPY_PADDING = 64;
struct parse_copy {
  std::unique_ptr<char[]> bytes;
  size_t size = 0;
  size_t capacity = 0;  // allocated bytes, padding included
};

struct loaded_file {
  std::string path;
  // Decompressed content. For lookup-events the decoded (JSON-unescaped) CloudTrailEvent
  // strings are appended after the original content, at offsets >= decompressed_bytes, and
  // their record_refs point there: every record is simply text.substr(offset, length).
  std::string text;
  parse_copy copy;  // of text, when the loader made one (gzip content)
  // Set when the records were not split yet (limits::defer_split): the limits to split with.
  std::optional<limits> split_later;
  std::vector<record_ref> records;
  std::vector<record_error> errors;    // at most limits::max_errors_per_file, in offset order
  uint64_t dropped_errors = 0;         // errors beyond that cap
  uint64_t dropped_record_errors = 0;  // of which record errors (a record was lost)
  file_format format = file_format::unknown;
  bool gzip = false;              // content was gzip (detected by magic bytes, not by name)
  bool skipped = false;           // nothing to process, on purpose; see skip_reason
  std::string skip_reason;        // "empty", "digest", "insights"
  std::string fatal_error;        // file unusable (unreadable, too big, out of memory); no records
  uint64_t compressed_bytes = 0;  // bytes read (== decompressed_bytes for plain files)
  uint64_t decompressed_bytes = 0;  // bytes of content after decompression

  // The parse copy is there and still a copy of all of text (splitting lookup-events output
  // appends to text).
  bool has_parse_copy() const noexcept { return copy.bytes && copy.size == text.size(); }
  std::string_view record(const record_ref& r) const noexcept {
    return std::string_view(text).substr(r.offset, r.length);
  }
  const char* format_name() const noexcept { return input::format_name(format); }
};

// Reads the whole file (or all of stdin for "-"), decompresses gzip (single or multi-member;
// a truncated or corrupt gzip keeps its decompressed prefix and gets the error
// "truncated or corrupt gzip after N bytes", N = decompressed bytes salvaged), detects the
// format by content and splits the records. Never throws. Thread-safe: each thread keeps its
// own decompressor, so workers may call it concurrently.
loaded_file load_file(const input_file& f, const limits& lim = {}) noexcept;

// Same as load_file on bytes already in memory (a stream, a test, an S3 object).
loaded_file load_buffer(std::string path, std::string bytes, const limits& lim = {}) noexcept;

// The splitter alone: detects the format of f.text (already decompressed) and fills
// f.format, f.records, f.errors, f.skipped/skip_reason. Expects f.records empty; appends to
// f.errors (errors already there, e.g. from decompression, are kept and get their line).
// Linear time, constant stack, no allocation per record beyond the records vector (lookup-
// events records are decoded into one extra buffer, appended to text at the end).
void split_records(loaded_file& f, const limits& lim = {}) noexcept;

// ---------------------------------------------------------------------------------------------
// Counters, for the run summary.

struct input_counters {
  uint64_t files_found = 0;        // discovery_result::files
  uint64_t files_loaded = 0;       // loaded without fatal error and not skipped
  uint64_t files_failed = 0;       // fatal_error set
  uint64_t files_with_errors = 0;  // loaded, with at least one error
  uint64_t files_skipped = 0;      // by discovery or by content
  uint64_t path_problems = 0;      // discovery_result::problems
  uint64_t records = 0;
  uint64_t record_errors = 0;  // errors with an index (a record was lost), dropped ones too
  uint64_t file_errors = 0;    // errors without an index, dropped ones too
  uint64_t compressed_bytes = 0;
  uint64_t decompressed_bytes = 0;
  std::map<std::string, uint64_t> skipped_by_reason;
  std::map<std::string, uint64_t> files_by_format;  // loaded files by format_name

  void add(const discovery_result& d);
  void add(const loaded_file& f);
};

}  // namespace trailhound::input
