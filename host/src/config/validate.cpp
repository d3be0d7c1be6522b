// SPDX-License-Identifier: Apache-2.0
// Checking the effective config against loaded detector specs; resolving typed params.
#include <algorithm>
#include <tuple>

#include "config/config.hpp"
#include "config/detail.hpp"

namespace trailhound::config {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" when one candidate is close, else " (known: a, b, c)".
template <typename Range, typename Name>
std::string hint(std::string_view wrong, const Range& candidates, Name name,
                 std::string_view what) {
  std::string best;
  size_t best_d = 4;
  std::string all;
  for (const auto& c : candidates) {
    std::string_view n = name(c);
    size_t d = edit_distance(wrong, n);
    if (d < best_d && d <= std::max<size_t>(1, n.size() / 3)) {
      best_d = d;
      best = n;
    }
    if (!all.empty()) all += ", ";
    all += n;
  }
  if (!best.empty()) return " (did you mean '" + best + "'?)";
  if (all.empty()) return " (" + std::string(what) + ": none)";
  return " (" + std::string(what) + ": " + all + ")";
}

struct located_diagnostic {
  size_t file_rank;
  source_location where;
  diagnostic diag;
};

class collector {
 public:
  collector(const effective_config& cfg, bool strict) : cfg_(cfg), strict_(strict) {}

  void error(const source_location& where, const std::string& msg) {
    add(where, diagnostic::error, msg);
  }
  void warning(const source_location& where, const std::string& msg) {
    add(where, strict_ ? diagnostic::error : diagnostic::warning, msg);
  }

  std::vector<diagnostic> take() {
    std::stable_sort(out_.begin(), out_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.file_rank, a.where.line, a.where.column) <
             std::tie(b.file_rank, b.where.line, b.where.column);
    });
    std::vector<diagnostic> result;
    for (auto& d : out_) result.push_back(std::move(d.diag));
    return result;
  }

 private:
  void add(const source_location& where, diagnostic::level lvl, const std::string& msg) {
    auto it = std::find(cfg_.files.begin(), cfg_.files.end(), where.file);
    size_t rank = static_cast<size_t>(it - cfg_.files.begin());
    std::string prefix = where.file.empty() ? "" : (where.line ? where.str() : where.file) + ": ";
    out_.push_back({rank, where, diagnostic{lvl, prefix + msg}});
  }

  const effective_config& cfg_;
  bool strict_;
  std::vector<located_diagnostic> out_;
};

source_location origin_of(const origin_map& m, std::string_view key,
                          const source_location& fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

}  // namespace

std::vector<diagnostic> validate(const effective_config& cfg,
                                 const std::vector<detector_spec>& specs, bool strict) {
  collector out(cfg, strict);
  for (const auto& [id, d] : cfg.detectors) {
    const std::string prefix = "detectors." + detail::format_key(id);
    // (An init-capture: clang before 16 cannot capture a structured binding.)
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&id = id](const detector_spec& s) { return s.id == id; });
    if (spec == specs.end()) {
      out.error(d.origin,
                "unknown detector '" + id + "'" +
                    hint(
                        id, specs, [](const detector_spec& s) { return std::string_view(s.id); },
                        "loaded detectors"));
      continue;
    }
    auto rule_known = [&](const std::string& r) {
      return spec->rules.empty() || std::any_of(spec->rules.begin(), spec->rules.end(),
                                                [&](const rule_spec& rs) { return rs.id == r; });
    };
    auto rule_name = [](const rule_spec& r) { return std::string_view(r.id); };
    for (const auto& r : d.disabled_rules)
      if (!rule_known(r))
        out.warning(origin_of(d.origins, "disabled_rules", d.origin),
                    prefix + ".disabled_rules: unknown rule '" + r + "' of detector '" + id + "'" +
                        hint(r, spec->rules, rule_name, "its rules"));
    for (const auto& s : d.suppressions)
      if (s.rule && !rule_known(*s.rule))
        out.warning(origin_of(s.origins, "rule", s.origin),
                    prefix + ".suppress: unknown rule '" + *s.rule + "' of detector '" + id + "'" +
                        hint(*s.rule, spec->rules, rule_name, "its rules"));
    for (const auto& [name_key, node] : d.params) {
      const std::string name(name_key.str());
      const source_location where = origin_of(d.param_origins, name, d.origin);
      const std::string what = prefix + ".params." + detail::format_key(name);
      auto ps = std::find_if(spec->params.begin(), spec->params.end(),
                             [&](const param_spec& p) { return p.name == name; });
      if (ps == spec->params.end()) {
        out.warning(where, what + ": unknown param of detector '" + id + "'" +
                               hint(
                                   name, spec->params,
                                   [](const param_spec& p) { return std::string_view(p.name); },
                                   "its params"));
        continue;
      }
      param_value scratch;
      if (auto err = detail::convert_param(node, *ps, scratch))
        out.error(where, what + " (" + param_type_name(ps->type) + "): " + *err);
    }
  }
  return out.take();
}

bool has_errors(const std::vector<diagnostic>& diags) noexcept {
  return std::any_of(diags.begin(), diags.end(),
                     [](const diagnostic& d) { return d.lvl == diagnostic::error; });
}

std::vector<param_value> resolve_params(const detector_spec& spec, const detector_config* cfg) {
  std::vector<param_value> out;
  out.reserve(spec.params.size());
  for (const auto& ps : spec.params) {
    param_value v;
    v.name = ps.name;
    v.type = ps.type;
    const toml::node* configured = cfg ? cfg->params.get(ps.name) : nullptr;
    if (configured) {
      v.origin = origin_of(cfg->param_origins, ps.name, cfg->origin);
      if (auto err = detail::convert_param(*configured, ps, v))
        throw config_error(v.origin, "detectors." + detail::format_key(spec.id) + ".params." +
                                         detail::format_key(ps.name) + " (" +
                                         param_type_name(ps.type) + "): " + *err);
    } else if (!ps.default_value.empty()) {
      auto plugin_bug = [&](const std::string& why) {
        return config_error(source_location{}, "detector '" + spec.id + "' param '" + ps.name +
                                                   "': invalid default value '" + ps.default_value +
                                                   "' for type " + param_type_name(ps.type) + ": " +
                                                   why + " (a plugin bug)");
      };
      toml::table doc;
      try {
        doc = toml::parse("v = " + ps.default_value, std::string_view("<default>"));
      } catch (const toml::parse_error& e) {
        throw plugin_bug(std::string(e.description()));
      }
      const toml::node* n = doc.get("v");
      if (n == nullptr || doc.size() != 1) throw plugin_bug("not a single TOML value");
      if (auto err = detail::convert_param(*n, ps, v)) throw plugin_bug(*err);
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace trailhound::config
