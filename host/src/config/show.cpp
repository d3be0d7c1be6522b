// SPDX-License-Identifier: Apache-2.0
// `trailhound config show`: the effective configuration with the origin of every value.
#include <algorithm>

#include "common/severity.hpp"
#include "config/config.hpp"
#include "config/detail.hpp"

namespace trailhound::config {

namespace {

// "file:line", "default" (no file) or just the file when there is no line (--env).
std::string origin_text(const source_location& where) {
  if (where.file.empty()) return "default";
  if (where.line == 0) return where.file;
  return where.file + ":" + std::to_string(where.line);
}

class text_builder {
 public:
  void line(std::string text, std::string comment = {}) {
    lines_.push_back({std::move(text), std::move(comment)});
  }
  void blank() { lines_.push_back({}); }

  std::string str() const {
    size_t col = 0;
    for (const auto& l : lines_)
      if (!l.comment.empty()) col = std::max(col, l.text.size());
    col = std::min<size_t>(col, 60) + 2;
    std::string out;
    for (const auto& l : lines_) {
      out += l.text;
      if (!l.comment.empty()) {
        out.append(l.text.size() < col ? col - l.text.size() : 1, ' ');
        out += "# " + l.comment;
      }
      out += '\n';
    }
    return out;
  }

 private:
  struct entry {
    std::string text, comment;
  };
  std::vector<entry> lines_;
};

std::string string_list(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ", ";
    out += detail::quote(list[i]);
  }
  return out + "]";
}

std::string origin_in(const origin_map& m, std::string_view key) {
  auto it = m.find(key);
  return it == m.end() ? "default" : origin_text(it->second);
}

void show_global(text_builder& b, const global_config& g) {
  b.line("environment = " + detail::quote(g.environment), origin_in(g.origins, "environment"));
  auto list = [&](const char* key, const std::vector<std::string>& v) {
    b.line(std::string(key) + " = " + string_list(v), origin_in(g.origins, key));
  };
  list("plugin_dirs", g.plugin_dirs);
  list("org_account_ids", g.org_account_ids);
  list("trusted_cidrs", g.trusted_cidrs);
  list("admin_principals", g.admin_principals);
  list("break_glass_principals", g.break_glass_principals);
  b.blank();
  b.line("[input]");
  b.line("dedup_window = " + detail::quote(format_duration(g.dedup_window_s)),
         origin_in(g.origins, "input.dedup_window"));
  b.line("max_record_bytes = " + std::to_string(g.max_record_bytes),
         origin_in(g.origins, "input.max_record_bytes"));
  b.line("max_depth = " + std::to_string(g.max_depth), origin_in(g.origins, "input.max_depth"));
  b.line("max_file_bytes = " + std::to_string(g.max_file_bytes),
         origin_in(g.origins, "input.max_file_bytes"));
}

void show_params(text_builder& b, const std::string& header, const detector_spec* spec,
                 const detector_config* d) {
  const bool any = (spec && !spec->params.empty()) || (d && !d->params.empty());
  if (!any) return;
  b.blank();
  b.line("[" + header + ".params]");
  if (spec) {
    for (const auto& ps : spec->params) {
      detector_spec one;
      one.id = spec->id;
      one.params = {ps};
      const std::string key = detail::format_key(ps.name) + " = ";
      try {
        param_value v = resolve_params(one, d).front();
        b.line(key + detail::format_param(v), origin_text(v.origin));
      } catch (const config_error& e) {
        const toml::node* raw = d ? d->params.get(ps.name) : nullptr;
        if (raw != nullptr)
          b.line(key + detail::format_node(*raw),
                 origin_in(d->param_origins, ps.name) + "  INVALID: " + e.reason());
        else
          b.line("# " + key + ps.default_value, "INVALID DEFAULT: " + e.reason());
      }
    }
  }
  if (d) {
    for (const auto& [k, v] : d->params) {
      std::string_view name = k.str();
      if (spec && std::any_of(spec->params.begin(), spec->params.end(),
                              [&](const param_spec& p) { return p.name == name; }))
        continue;
      b.line(detail::format_key(name) + " = " + detail::format_node(v),
             origin_in(d->param_origins, name) + (spec ? "  UNKNOWN PARAM" : ""));
    }
  }
}

void show_detector(text_builder& b, const std::string& id, const detector_spec* spec,
                   const detector_config* d, bool specs_given) {
  const std::string header = "detectors." + detail::format_key(id);
  b.blank();
  std::string header_comment = d ? origin_text(d->origin) : "default";
  if (specs_given && !spec) header_comment += "  UNKNOWN DETECTOR";
  b.line("[" + header + "]", header_comment);
  b.line(std::string("enabled = ") + (d == nullptr || d->is_enabled() ? "true" : "false"),
         d ? origin_in(d->origins, "enabled") : "default");
  if (d && d->severity_override)
    b.line("severity = " + detail::quote(severity_name(*d->severity_override)),
           origin_in(d->origins, "severity"));
  else
    b.line("# severity: per rule", "default");
  b.line("disabled_rules = " + string_list(d ? d->disabled_rules : std::vector<std::string>{}),
         d ? origin_in(d->origins, "disabled_rules") : "default");
  show_params(b, header, spec, d);
  if (!d) return;
  for (const auto& s : d->suppressions) {
    b.blank();
    b.line("[[" + header + ".suppress]]", origin_text(s.origin));
    auto field = [&](const char* key, const std::string& value) {
      b.line(std::string(key) + " = " + value, origin_in(s.origins, key));
    };
    if (s.rule) field("rule", detail::quote(*s.rule));
    if (s.principal) field("principal", detail::quote(*s.principal));
    if (s.account) field("account", detail::quote(*s.account));
    if (s.source_cidr) field("source_cidr", detail::quote(s.source_cidr->str()));
    if (s.until_ms) field("until", s.until_text);
    field("reason", detail::quote(s.reason));
  }
}

}  // namespace

std::string show(const effective_config& cfg, const std::vector<detector_spec>* specs) {
  text_builder b;
  b.line("# trailhound effective configuration");
  if (cfg.files.empty()) {
    b.line("# layers: none (built-in defaults)");
  } else {
    std::string layers;
    for (const auto& f : cfg.files) layers += (layers.empty() ? "" : ", ") + f;
    b.line("# layers, lowest precedence first: " + layers);
  }
  b.blank();
  show_global(b, cfg.global);

  std::vector<std::string> ids;
  if (specs)
    for (const auto& s : *specs) ids.push_back(s.id);
  for (const auto& [id, d] : cfg.detectors) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const auto& id : ids) {
    const detector_spec* spec = nullptr;
    if (specs) {
      auto it = std::find_if(specs->begin(), specs->end(),
                             [&](const detector_spec& s) { return s.id == id; });
      if (it != specs->end()) spec = &*it;
    }
    show_detector(b, id, spec, cfg.find(id), specs != nullptr);
  }
  return b.str();
}

}  // namespace trailhound::config
