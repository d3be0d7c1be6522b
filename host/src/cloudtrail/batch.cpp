// SPDX-License-Identifier: Apache-2.0
// Whole-file parsing into one arena: one parse copy of the file, in-situ parsing per record,
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

static_assert(input::PARSE_COPY_PADDING >= detail::PARSE_PADDING);

namespace {

// Records inside a CloudTrail file are not in time order; detectors want them ordered (stable:
// equal times keep file order). A th_event is a few hundred bytes, so (time, position) pairs are
// sorted and each event is moved once; `dom_ends` follows its events.
void order_by_time(std::vector<th_event>& events, std::vector<uintptr_t>& dom_ends) {
  const auto earlier = [](const th_event& x, const th_event& y) {
    return x.event_time_ms < y.event_time_ms;
  };
  if (std::is_sorted(events.begin(), events.end(), earlier)) return;
  thread_local std::vector<std::pair<int64_t, uint32_t>> order;
  order.clear();
  for (size_t i = 0; i < events.size(); ++i)
    order.emplace_back(events[i].event_time_ms, static_cast<uint32_t>(i));
  std::sort(order.begin(), order.end());
  std::vector<th_event> sorted;
  sorted.reserve(events.size());
  std::vector<uintptr_t> sorted_ends;
  sorted_ends.reserve(dom_ends.size());
  for (const auto& [time, i] : order) {
    sorted.push_back(events[i]);
    sorted_ends.push_back(dom_ends[i]);
  }
  events.swap(sorted);
  dom_ends.swap(sorted_ends);
}

// SAX filter between RapidJSON's reader and the document, for a whole CloudTrail file: accepts
// exactly `{"Records":[{...},...]}` (any whitespace), notes where each record starts and ends,
// and stops the parse (returns false) at anything else, so the caller can fall back to the
// splitter, which reports each problem and keeps every other record. It also stops at the
// record after `max_records`, and after a first record that may be an Insights event (the
// splitter skips such a file): `original` is the unparsed text.
template <typename Document>
class records_filter {
 public:
  records_filter(Document& doc, detail::padded_insitu_stream& in, const char* original,
                 const input::limits& lim, size_t max_records,
                 std::vector<input::record_ref>& records)
      : doc_(doc),
        in_(in),
        base_(in.src_),
        original_(original),
        lim_(lim),
        max_records_(max_records),
        records_(records) {}

  // Depth: 1 inside the top object, 2 inside Records, 3 inside a record (its own depth 1).
  bool StartObject() {
    if (depth_ == 2) {
      if (records_.size() >= max_records_) return false;
      record_start_ = in_.src_ - 1;  // the reader has taken the '{'
    } else if (depth_ == 1 || (depth_ > 2 && depth_ - 2 >= lim_.max_depth)) {
      return false;  // Records not an array, or nesting the splitter would reject
    }
    ++depth_;
    return doc_.StartObject();
  }
  bool EndObject(rapidjson::SizeType members) {
    if (--depth_ == 2) {
      const auto length = static_cast<uint64_t>(in_.src_ - record_start_);  // '}' taken
      const auto offset = static_cast<uint64_t>(record_start_ - base_);
      if (length > lim_.max_record_bytes) return false;
      // Both of the splitter's Insights markers contain the word; files with it are rare.
      if (records_.empty() &&
          std::string_view(original_ + offset, length).find("Insight") != std::string_view::npos)
        return false;
      records_.push_back(input::record_ref{offset, length, static_cast<uint32_t>(records_.size())});
    }
    return doc_.EndObject(members);
  }
  bool StartArray() {
    const bool records = depth_ == 1 && records_key_;
    if (!records && (depth_ <= 2 || depth_ - 2 >= lim_.max_depth)) return false;
    ++depth_;
    return doc_.StartArray();
  }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (depth_ == 1) {
      if (records_key_ || n != 7 || std::memcmp(s, "Records", 7) != 0) return false;
      records_key_ = true;
    }
    return doc_.Key(s, n, copy);
  }
  // Scalars belong inside records only.
  bool Null() { return depth_ > 2 && doc_.Null(); }
  bool Bool(bool v) { return depth_ > 2 && doc_.Bool(v); }
  bool Int(int v) { return depth_ > 2 && doc_.Int(v); }
  bool Uint(unsigned v) { return depth_ > 2 && doc_.Uint(v); }
  bool Int64(int64_t v) { return depth_ > 2 && doc_.Int64(v); }
  bool Uint64(uint64_t v) { return depth_ > 2 && doc_.Uint64(v); }
  bool Double(double v) { return depth_ > 2 && doc_.Double(v); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return depth_ > 2 && doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return depth_ > 2 && doc_.String(s, n, copy);
  }

 private:
  Document& doc_;
  detail::padded_insitu_stream& in_;
  const char* base_;
  const char* original_;
  const input::limits& lim_;
  size_t max_records_;
  std::vector<input::record_ref>& records_;
  const char* record_start_ = nullptr;
  uint32_t depth_ = 0;
  bool records_key_ = false;
};

// Parses text (NUL-terminated, padded) as one CloudTrail Records file into doc, filling records.
// False when the file is anything but a clean one (see records_filter) or does not parse.
bool parse_records_file(detail::document& doc, char* text, const std::string& original, bool ascii,
                        const input::limits& lim, size_t max_records,
                        std::vector<input::record_ref>& records) {
  const size_t size = original.size();
  detail::padded_insitu_stream in(text);
  bool parsed = false;
  auto generate = [&](detail::document& handler) {
    records_filter<detail::document> filter(handler, in, original.data(), lim, max_records,
                                            records);
    // The reader's own stack is unused when parsing in situ; it gets an allocator of its own.
    detail::reused_stack_allocator reader_stack;
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, detail::reused_stack_allocator>
        reader(&reader_stack);
    const rapidjson::ParseResult r = ascii ? reader.Parse<detail::PARSE_FLAGS_ASCII>(in, filter)
                                           : reader.Parse<detail::PARSE_FLAGS>(in, filter);
    parsed = !r.IsError();
    return parsed;
  };
  doc.Populate(generate);
  // The reader stops at a NUL byte as at the end: the whole text must have been read.
  return parsed && in.src_ == text + size && doc.IsObject() && doc.MemberCount() == 1 &&
         !records.empty();
}

}  // namespace

// Larger files (rare: AWS delivers a few MB at most) go through the splitter, which finds out
// whether they must be parsed one record at a time.
constexpr size_t WHOLE_FILE_MAX_BYTES = size_t{64} << 20;

struct parsed_batch::arena {
  static constexpr size_t STACK_BYTES = 16 * 1024;
  // The DOM of in-situ parsed CloudTrail records takes about as many bytes as their text (the
  // strings stay in the scratch copy): one chunk usually holds a whole file.
  explicit arena(size_t text_bytes)
      : values(std::clamp<size_t>(text_bytes + text_bytes / 4, 64 << 10, 8 << 20)) {}
  // Parsed in situ, the DOM's strings live here: the file's parse copy when the loader made
  // one, else `own_copy`.
  char* parse_text = nullptr;
  std::string own_copy;
  pool_allocator values;
  detail::reused_stack_allocator stack;
};

parsed_batch::parsed_batch() = default;
parsed_batch::~parsed_batch() = default;
parsed_batch::parsed_batch(parsed_batch&&) noexcept = default;
parsed_batch& parsed_batch::operator=(parsed_batch&&) noexcept = default;

size_t parsed_batch::memory_bytes() const noexcept {
  size_t n = file.text.capacity() + file.copy.capacity +
             file.records.capacity() * sizeof(input::record_ref) +
             events.capacity() * sizeof(th_event) + dom_ends_.capacity() * sizeof(uintptr_t);
  if (arena_)
    n += arena_->own_copy.capacity() + arena_->values.Capacity() + arena_->stack.capacity();
  return n;
}

void parsed_batch::prefetch_event(size_t k) const noexcept {
  if (k >= events.size() || !arena_) return;
  const th_event& ev = events[k];
  constexpr size_t LINE = 64;
  // The record's strings: the parse copy at the record's offset in the text.
  const size_t offset = static_cast<size_t>(ev.raw_json.ptr - file.text.data());
  const char* text = arena_->parse_text + offset;
  for (size_t i = 0; i < ev.raw_json.len; i += LINE) __builtin_prefetch(text + i);
  // The record's DOM ends with its root's member array (made last, when the record's object
  // closed); the nested objects come before. About as many DOM bytes as text bytes.
  // (Addresses as integers: the span may start before the arena's chunk, which a prefetch of
  // an unmapped line tolerates and pointer arithmetic would not.)
  const uintptr_t dom_end = dom_ends_[k];
  const size_t dom = std::min<size_t>(ev.raw_json.len, 4096);
  for (size_t i = 0; i < dom; i += LINE)
    __builtin_prefetch(reinterpret_cast<const void*>(dom_end - dom + i));
}

void parsed_batch::add_event(const th_value* record, std::string_view raw,
                             const input::record_ref& r, uintptr_t dom_end) {
  th_event ev;
  detail::init_event(raw, ev);
  parse_error err;
  if (!detail::extract_fields(*reinterpret_cast<const value*>(record), ev, err)) {
    failures.push_back({r.index, r.offset + err.offset, std::move(err.reason)});
    return;
  }
  events.push_back(ev);
  dom_ends_.push_back(dom_end);
}

// The whole file in one pass, without the splitter: for a clean Records file (nearly every
// file AWS delivers). False, with b as it was, for anything else.
bool parse_whole_file(parsed_batch& b, const parse_limits& lim, const input::limits& split_lim) {
  input::loaded_file& file = b.file;
  const size_t size = file.text.size();
  if (size > WHOLE_FILE_MAX_BYTES || !file.has_parse_copy()) return false;
  try {
    b.arena_ = std::make_unique<parsed_batch::arena>(size);
    auto& a = *b.arena_;
    a.parse_text = file.copy.bytes.get();
    std::vector<input::record_ref> records;
    records.reserve(size / 1024 + 16);
    detail::document doc(&a.values, parsed_batch::arena::STACK_BYTES, &a.stack);
    if (!parse_records_file(doc, a.parse_text, file.text, detail::plain_ascii(file.text), split_lim,
                            lim.max_batch_records, records)) {
      b.arena_.reset();
      return false;
    }
    void* slot = a.values.Malloc(sizeof(value));
    if (!slot) throw std::bad_alloc();
    value* root = new (slot) value();
    root->Swap(static_cast<value&>(doc));
    value& elements = root->MemberBegin()->value;
    b.events.reserve(records.size());
    b.dom_ends_.reserve(records.size());
    for (const input::record_ref& r : records) {
      const value& record = elements[r.index];
      // The record's member array was made when its object closed, after its nested objects.
      const auto members = reinterpret_cast<uintptr_t>(&*record.MemberBegin());
      b.add_event(reinterpret_cast<const th_value*>(&record), file.record(r), r,
                  members + record.MemberCount() * sizeof(value::Member));
    }
    file.records = std::move(records);
    file.format = input::file_format::cloudtrail;
    order_by_time(b.events, b.dom_ends_);
    b.whole_file = true;
    return true;
  } catch (...) {  // out of memory: the splitter's path reports it record by record
    b.arena_.reset();
    b.events.clear();
    b.dom_ends_.clear();
    b.failures.clear();
    return false;
  }
}

parsed_batch parse_file(input::loaded_file&& f, const parse_limits& lim) noexcept {
  parsed_batch b;
  b.file = std::move(f);
  if (b.file.split_later) {
    const input::limits split_lim = *b.file.split_later;
    b.file.split_later.reset();
    if (parse_whole_file(b, lim, split_lim)) return b;
    // The attempt parsed the copy in place: refresh it, then split the records the careful way.
    if (b.file.has_parse_copy())
      std::memcpy(b.file.copy.bytes.get(), b.file.text.data(), b.file.text.size());
    input::split_records(b.file, split_lim);
  }
  const input::loaded_file& file = b.file;
  size_t next = 0;  // first record not handled yet (for the out-of-memory path)
  if (file.records.size() > lim.max_batch_records) {
    b.lazy = true;
    b.file.copy = input::parse_copy{};  // parsed one record at a time, from its own copy
    return b;
  }
  try {
    b.arena_ = std::make_unique<parsed_batch::arena>(file.text.size());
    auto& a = *b.arena_;
    if (file.has_parse_copy()) {
      a.parse_text = b.file.copy.bytes.get();
    } else {
      // Padding: the SIMD string scanner may read up to 15 bytes past the last record.
      a.own_copy.reserve(file.text.size() + detail::PARSE_PADDING);
      a.own_copy.assign(file.text);
      a.parse_text = a.own_copy.data();
    }
    b.events.reserve(file.records.size());
    b.dom_ends_.reserve(file.records.size());
    detail::document doc(&a.values, parsed_batch::arena::STACK_BYTES, &a.stack);
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
      char* begin = a.parse_text + r.offset;
      char* end = begin + r.length;
      char saved = *end;
      *end = '\0';
      if (ascii)
        detail::parse_padded<detail::PARSE_FLAGS_ASCII>(doc, begin);
      else
        detail::parse_padded<detail::PARSE_FLAGS>(doc, begin);
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
      b.add_event(reinterpret_cast<const th_value*>(root), raw, r,
                  reinterpret_cast<uintptr_t>(root) + sizeof(value));  // the root moved out last
    }
    order_by_time(b.events, b.dom_ends_);
  } catch (...) {
    for (; next < file.records.size(); ++next)
      b.failures.push_back({file.records[next].index, file.records[next].offset, "out of memory"});
  }
  return b;
}

}  // namespace trailhound::cloudtrail
