// SPDX-License-Identifier: Apache-2.0
// Whole-file parsing into one arena: one scratch copy of the file, in-situ parsing per record,
// parsed roots moved out of a reused document into the arena.
#include "cloudtrail/batch.hpp"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <numeric>
#include <vector>

#include "cloudtrail/detail.hpp"

namespace trailhound::cloudtrail {

using detail::pool_allocator;
using detail::value;

namespace {

// The parse stack of the reused document: one block, kept for every record of the file.
// RapidJSON frees its stack after each parse and allocates it again for the next one; with a
// pool allocator every record would leave a dead stack behind (kilobytes per record).
class reused_stack_allocator {
 public:
  // (RapidJSON's Allocator concept also has kNeedFree; only the value allocator's is read.)
  void* Malloc(size_t size) { return Realloc(nullptr, 0, size); }
  void* Realloc(void* original, size_t original_size, size_t new_size) {
    if (new_size > size_) {
      // Not zero-filled (a std::vector would be): RapidJSON writes before it reads.
      const size_t bigger_size = std::max(new_size, 2 * size_);
      std::unique_ptr<char[]> bigger(new char[bigger_size]);
      if (original) std::memcpy(bigger.get(), original, std::min(original_size, new_size));
      block_ = std::move(bigger);
      size_ = bigger_size;
    }
    return block_.get();
  }
  static void Free(void*) noexcept {}
  size_t capacity() const noexcept { return size_; }

 private:
  std::unique_ptr<char[]> block_;
  size_t size_ = 0;
};

using batch_document =
    rapidjson::GenericDocument<rapidjson::UTF8<>, pool_allocator, reused_stack_allocator>;

}  // namespace

struct parsed_batch::arena {
  static constexpr size_t STACK_BYTES = 16 * 1024;
  // The DOM of in-situ parsed CloudTrail records takes about as many bytes as their text (the
  // strings stay in the scratch copy): one chunk usually holds a whole file.
  explicit arena(size_t text_bytes)
      : values(std::clamp<size_t>(text_bytes + text_bytes / 4, 64 << 10, 8 << 20)) {}
  std::string scratch;  // parsed in situ: the DOM's strings live here
  pool_allocator values;
  reused_stack_allocator stack;
};

parsed_batch::parsed_batch() = default;
parsed_batch::~parsed_batch() = default;
parsed_batch::parsed_batch(parsed_batch&&) noexcept = default;
parsed_batch& parsed_batch::operator=(parsed_batch&&) noexcept = default;

size_t parsed_batch::memory_bytes() const noexcept {
  size_t n = file.text.capacity() + file.records.capacity() * sizeof(input::record_ref) +
             events.capacity() * sizeof(th_event);
  if (arena_)
    n += arena_->scratch.capacity() + arena_->values.Capacity() + arena_->stack.capacity();
  return n;
}

void parsed_batch::prefetch_event(size_t k) const noexcept {
  if (k >= events.size() || !arena_) return;
  const th_event& ev = events[k];
  constexpr size_t LINE = 64;
  // The record's strings: the parse copy at the record's offset in the text.
  const size_t offset = static_cast<size_t>(ev.raw_json.ptr - file.text.data());
  const char* text = arena_->scratch.data() + offset;
  for (size_t i = 0; i < ev.raw_json.len; i += LINE) __builtin_prefetch(text + i);
  // The record's DOM ends with its root (moved out last) right after the root's member array;
  // the nested objects come before. About as many DOM bytes as text bytes.
  // (Addresses as integers: the span may start before the arena's chunk, which a prefetch of
  // an unmapped line tolerates and pointer arithmetic would not.)
  const uintptr_t root_end = reinterpret_cast<uintptr_t>(ev.root) + sizeof(value);
  const size_t dom = std::min<size_t>(ev.raw_json.len, 4096);
  for (size_t i = 0; i < dom; i += LINE)
    __builtin_prefetch(reinterpret_cast<const void*>(root_end - dom + i));
}

parsed_batch parse_file(input::loaded_file&& f, const parse_limits& lim) noexcept {
  parsed_batch b;
  b.file = std::move(f);
  const input::loaded_file& file = b.file;
  size_t next = 0;  // first record not handled yet (for the out-of-memory path)
  if (file.records.size() > lim.max_batch_records) {
    b.lazy = true;
    return b;
  }
  try {
    b.arena_ = std::make_unique<parsed_batch::arena>(file.text.size());
    auto& a = *b.arena_;
    // Padding: the SIMD string scanner may read up to 15 bytes past the last record.
    a.scratch.reserve(file.text.size() + detail::PARSE_PADDING);
    a.scratch.assign(file.text);
    b.events.reserve(file.records.size());
    batch_document doc(&a.values, parsed_batch::arena::STACK_BYTES, &a.stack);
    const bool ascii = detail::plain_ascii(file.text);
    for (; next < file.records.size(); ++next) {
      const input::record_ref& r = file.records[next];
      std::string_view raw = file.record(r);
      if (!lim.depth_prechecked && json_depth(raw, lim.max_depth) > lim.max_depth) {
        b.failures.push_back(
            {r.index, r.offset, "nesting deeper than " + std::to_string(lim.max_depth)});
        continue;
      }
      // Terminate this record in the scratch copy; the byte after it belongs to the next record
      // (or is the string's own terminator) and is restored right after parsing.
      char* begin = a.scratch.data() + r.offset;
      char* end = begin + r.length;
      char saved = *end;
      *end = '\0';
      if (ascii)
        doc.ParseInsitu<detail::PARSE_FLAGS_ASCII>(begin);
      else
        doc.ParseInsitu<detail::PARSE_FLAGS>(begin);
      *end = saved;
      if (doc.HasParseError()) {
        b.failures.push_back({r.index, r.offset + doc.GetErrorOffset(),
                              rapidjson::GetParseError_En(doc.GetParseError())});
        continue;
      }
      if (!doc.IsObject()) {
        b.failures.push_back({r.index, r.offset, "record is not a JSON object"});
        continue;
      }
      // Move the parsed root out of the reused document into the arena.
      void* slot = a.values.Malloc(sizeof(value));
      if (!slot) throw std::bad_alloc();
      value* root = new (slot) value();
      root->Swap(static_cast<value&>(doc));
      th_event ev;
      detail::init_event(raw, ev);
      parse_error err;
      if (!detail::extract_fields(*root, ev, err)) {
        b.failures.push_back({r.index, r.offset + err.offset, std::move(err.reason)});
        continue;
      }
      b.events.push_back(ev);
    }
    // Records inside a CloudTrail file are not in time order; detectors want them ordered.
    std::stable_sort(b.events.begin(), b.events.end(), [](const th_event& x, const th_event& y) {
      return x.event_time_ms < y.event_time_ms;
    });
  } catch (...) {
    for (; next < file.records.size(); ++next)
      b.failures.push_back({file.records[next].index, file.records[next].offset, "out of memory"});
  }
  return b;
}

}  // namespace trailhound::cloudtrail
