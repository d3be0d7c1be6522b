// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: record splitting (format detection, resynchronisation, lookup-events decoding,
// gzip when the bytes start with its magic), then both record parsers, then every field of each
// event view and every node of its parsed value. Checks the splitter's documented invariants, that
// its block scanner and byte scanner agree, and that the batch parser and the single-record
// parser agree, and that whole-file parsing of the bytes as a gzip file agrees with the
// splitter's path.
#include <trailhound/plugin_abi.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cloudtrail/batch.hpp"
#include "cloudtrail/record_parser.hpp"
#include "cloudtrail/value_api.hpp"
#include "input/detail.hpp"
#include "input/input.hpp"

namespace {

using namespace trailhound;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_records: invariant violated: %s\n", what);
  std::abort();
}
#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

// Touches every byte, so that AddressSanitizer sees any view pointing outside live memory.
volatile uint32_t g_sink;
uint32_t touch(th_str s) {
  CHECK(s.len == 0 || s.ptr != nullptr);
  uint32_t h = static_cast<uint32_t>(s.len);
  for (uint64_t i = 0; i < s.len; ++i) h = h * 31 + static_cast<unsigned char>(s.ptr[i]);
  return h;
}

const th_host_api& api() {
  static const th_host_api a = [] {
    th_host_api x{};
    x.struct_size = sizeof x;
    cloudtrail::install_value_accessors(x);
    return x;
  }();
  return a;
}

// Walks a parsed value through the accessors plugins use (bounded: records are depth-capped).
uint32_t walk(const th_value* v, int depth) {
  const th_host_api& a = api();
  const int32_t kind = a.value_kind(v);
  uint32_t h = static_cast<uint32_t>(kind);
  h += touch(a.value_string(v));
  h += static_cast<uint32_t>(a.value_int(v));
  h += static_cast<uint32_t>(a.value_number(v) != 0);
  const uint32_t n = a.value_size(v);
  if (kind == TH_VALUE_ARRAY) {
    for (uint32_t i = 0; i < n; ++i) h += walk(a.value_index(v, i), depth + 1);
    CHECK(a.value_index(v, n) == nullptr);
  } else if (kind == TH_VALUE_OBJECT) {
    for (uint32_t i = 0; i < n; ++i) {
      th_str name = a.value_member_name(v, i);
      h += touch(name);
      const th_value* m = a.value_member_at(v, i);
      CHECK(m != nullptr);
      // The first member of that name (duplicates are legal JSON) must be found by name.
      CHECK(a.value_member(v, name) != nullptr);
      h += walk(m, depth + 1);
    }
    CHECK(a.value_member_at(v, n) == nullptr);
  } else {
    CHECK(n == 0);
  }
  CHECK(depth <= 1100);
  return h;
}

uint32_t touch_event(const th_event& ev, std::string_view record) {
  CHECK(ev.struct_size == sizeof(th_event));
  CHECK(ev.raw_json.ptr == record.data() && ev.raw_json.len == record.size());
  CHECK(ev.event_name.len > 0);
  uint32_t h = 0;
  const th_str fields[] = {ev.event_id,
                           ev.event_source,
                           ev.event_name,
                           ev.event_type,
                           ev.aws_region,
                           ev.source_ip,
                           ev.user_agent,
                           ev.error_code,
                           ev.error_message,
                           ev.recipient_account_id,
                           ev.identity_type,
                           ev.principal_arn,
                           ev.principal_account_id,
                           ev.principal_user_name,
                           ev.access_key_id,
                           ev.session_issuer_arn,
                           ev.event_category,
                           ev.invoked_by,
                           ev.principal_id,
                           ev.raw_json};
  for (const th_str& s : fields) h += touch(s);
  for (int32_t flag : {ev.mfa_authenticated, ev.read_only, ev.management_event})
    CHECK(flag == TH_FLAG_UNKNOWN || flag == TH_FLAG_FALSE || flag == TH_FLAG_TRUE);
  CHECK(ev.aws_service_origin == TH_FLAG_FALSE || ev.aws_service_origin == TH_FLAG_TRUE);
  h += static_cast<uint32_t>(cloudtrail::format_time(ev.event_time_ms).size());
  CHECK(ev.root != nullptr);
  h += walk(ev.root, 1);
  std::string json;
  cloudtrail::append_value_json(ev.root, json);
  h += static_cast<uint32_t>(json.size());
  if (auto p = cloudtrail::json_pointer::parse("/userIdentity/sessionContext/attributes/0"))
    h += static_cast<uint32_t>(api().value_kind(p->resolve(ev.root)));
  return h;
}

void check_split(const input::loaded_file& f, const input::limits& lim) {
  CHECK(f.errors.size() <= lim.max_errors_per_file);
  if (!f.fatal_error.empty()) {
    CHECK(f.records.empty());
    return;
  }
  if (f.skipped) CHECK(f.records.empty());
  uint64_t last_offset = 0;
  for (const auto& e : f.errors) {
    CHECK(e.offset >= last_offset);  // documented: in offset order
    CHECK(e.line >= 1);
    CHECK(!e.reason.empty());
    last_offset = e.offset;
  }
  int64_t last_index = -1;
  for (const auto& r : f.records) {
    CHECK(r.offset <= f.text.size() && r.length <= f.text.size() - r.offset);
    CHECK(r.length >= 2 && r.length <= lim.max_record_bytes);
    const std::string_view rec = f.record(r);
    CHECK(rec.front() == '{' && rec.back() == '}');
    CHECK(cloudtrail::json_depth(rec, lim.max_depth) <= lim.max_depth);
    CHECK(static_cast<int64_t>(r.index) > last_index);  // record positions only grow
    CHECK(r.index != input::no_record);
    last_index = r.index;
  }
  for (const auto& e : f.errors)
    if (e.index != input::no_record)
      for (const auto& r : f.records) CHECK(r.index != e.index);
}

void run(std::string bytes, const input::limits& lim) {
  input::loaded_file f;
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
      static_cast<uint8_t>(bytes[1]) == 0x8b) {
    f = input::load_buffer("fuzz.json.gz", std::move(bytes), lim);  // inflate, then split
  } else {
    f.path = "fuzz.json";
    f.text = std::move(bytes);
    f.compressed_bytes = f.decompressed_bytes = f.text.size();
    // The byte-at-a-time scanner must split the same text identically (copied first: splitting
    // lookup-events output appends the decoded records to the text).
    input::loaded_file g;
    g.path = f.path;
    g.text = f.text;
    input::split_records(f, lim);
    input::detail::scalar_record_scanner = true;
    input::split_records(g, lim);
    input::detail::scalar_record_scanner = false;
    CHECK(g.records.size() == f.records.size() && g.errors.size() == f.errors.size());
    for (size_t i = 0; i < f.records.size(); ++i)
      CHECK(g.records[i].offset == f.records[i].offset &&
            g.records[i].length == f.records[i].length && g.records[i].index == f.records[i].index);
    for (size_t i = 0; i < f.errors.size(); ++i)
      CHECK(g.errors[i].offset == f.errors[i].offset && g.errors[i].reason == f.errors[i].reason);
  }
  check_split(f, lim);

  cloudtrail::parse_limits plim;
  plim.max_depth = lim.max_depth;
  plim.depth_prechecked = true;
  static cloudtrail::record_parser parser;  // reused, as each loader thread does
  parser.set_limits(plim);
  uint32_t h = 0;
  size_t good = 0;
  for (const auto& r : f.records) {
    th_event ev;
    cloudtrail::parse_error err;
    const std::string_view rec = f.record(r);
    if (parser.parse(rec, ev, err)) {
      ++good;
      h += touch_event(ev, rec);
    } else {
      CHECK(!err.reason.empty());
      CHECK(err.offset <= rec.size());
    }
  }
  parser.reset();

  // The same records through the batch parser: the same verdicts, events in time order.
  const size_t n_records = f.records.size();
  cloudtrail::parsed_batch b = cloudtrail::parse_file(std::move(f), plim);
  if (b.lazy) return;  // more records than max_batch_records: parsed one by one, done above
  CHECK(b.events.size() + b.failures.size() == n_records);
  CHECK(b.events.size() == good);
  int64_t last_time = INT64_MIN;
  for (const th_event& ev : b.events) {
    CHECK(ev.event_time_ms >= last_time);
    last_time = ev.event_time_ms;
    h += touch_event(ev, std::string_view(ev.raw_json.ptr, ev.raw_json.len));
  }
  g_sink = h;
}

std::string gzip(const std::string& text) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("deflateInit2");
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The bytes as a gzip file, with the split left to parse_file (whole-file parsing when clean)
// and without: the same records, errors, failures and events.
void whole_file_agrees(const std::string& text, const input::limits& lim) {
  const std::string gz = gzip(text);
  cloudtrail::parse_limits plim;
  plim.max_depth = lim.max_depth;
  plim.depth_prechecked = true;
  input::limits deferred = lim;
  deferred.defer_split = true;
  const cloudtrail::parsed_batch a =
      cloudtrail::parse_file(input::load_buffer("fuzz.json.gz", gz, lim), plim);
  const cloudtrail::parsed_batch b =
      cloudtrail::parse_file(input::load_buffer("fuzz.json.gz", gz, deferred), plim);
  CHECK(a.file.format == b.file.format && a.file.skipped == b.file.skipped);
  CHECK(a.file.records.size() == b.file.records.size());
  for (size_t i = 0; i < a.file.records.size(); ++i)
    CHECK(a.file.records[i].offset == b.file.records[i].offset &&
          a.file.records[i].length == b.file.records[i].length &&
          a.file.records[i].index == b.file.records[i].index);
  CHECK(a.file.errors.size() == b.file.errors.size());
  for (size_t i = 0; i < a.file.errors.size(); ++i)
    CHECK(a.file.errors[i].offset == b.file.errors[i].offset &&
          a.file.errors[i].reason == b.file.errors[i].reason);
  CHECK(a.failures.size() == b.failures.size());
  for (size_t i = 0; i < a.failures.size(); ++i)
    CHECK(a.failures[i].index == b.failures[i].index &&
          a.failures[i].offset == b.failures[i].offset &&
          a.failures[i].reason == b.failures[i].reason);
  CHECK(a.events.size() == b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    const th_event& x = a.events[i];
    const th_event& y = b.events[i];
    CHECK(x.event_time_ms == y.event_time_ms && x.raw_json.len == y.raw_json.len &&
          x.raw_json.ptr - a.file.text.data() == y.raw_json.ptr - b.file.text.data());
    std::string dx, dy;
    cloudtrail::append_value_json(x.root, dx);
    cloudtrail::append_value_json(y.root, dy);
    CHECK(dx == dy);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // Default limits, but a file cap that keeps gzip bombs within the fuzzer's memory limit.
  input::limits lim;
  lim.max_file_bytes = 64 << 20;
  run(bytes, lim);
  // Tight limits: the too-deep, too-large and too-many-errors paths on small inputs.
  input::limits tight;
  tight.max_file_bytes = 1 << 20;
  tight.max_record_bytes = 300;
  tight.max_depth = 3;
  tight.max_errors_per_file = 4;
  run(bytes, tight);
  // Whole-file parsing of the same bytes as a gzip file gives the splitter's results.
  if (size < (1 << 20)) {
    whole_file_agrees(bytes, lim);
    whole_file_agrees(bytes, tight);
  }
  // The timestamp parser on the raw bytes.
  int64_t ms = 0;
  if (cloudtrail::parse_event_time(std::string_view(bytes).substr(0, 64), ms))
    g_sink = static_cast<uint32_t>(cloudtrail::format_time(ms).size());
  return 0;
}
