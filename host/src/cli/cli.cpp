// SPDX-License-Identifier: Apache-2.0
// Subcommand dispatch and the commands themselves.
#include "cli/cli.hpp"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/summary.hpp"
#include "cloudtrail/record_parser.hpp"
#include "common/severity.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "engine/watchdog.hpp"
#include "findings/collector.hpp"
#include "pipeline/scan.hpp"
#include "plugins/loader.hpp"
#include "sinks/sink.hpp"
#include "state/persistence.hpp"

namespace trailhound::cli {
namespace po = boost::program_options;
namespace {

const char* USAGE = R"(trailhound - threat detection for AWS CloudTrail logs

Usage:
  trailhound scan [options] PATH...        scan files, directories (recursive) or - (stdin)
  trailhound learn [options] PATH...       build baselines only (scan --learn-only)
  trailhound plugins list [options]        loaded detectors: id, version, ABI, subscriptions, file
  trailhound plugins describe ID [options] a detector's rules, params and subscriptions
  trailhound config show [options]         effective configuration with the origin of each value
  trailhound config check [options]        validate the configuration against the loaded plugins
  trailhound version

Run `trailhound COMMAND --help` for the options of a command.
)";

// Options shared by every command that loads plugins and configuration.
struct common_options {
  std::vector<std::string> config_files;
  std::string env;
  std::vector<std::string> plugin_dirs;
  bool strict = false;
  bool no_builtin_plugins = false;
  bool allow_insecure_plugins = false;
};

void add_common(po::options_description& d, common_options& c) {
  d.add_options()("config,c", po::value(&c.config_files)->composing(),
                  "TOML configuration file (repeatable; later files override earlier ones)")(
      "env,e", po::value(&c.env), "environment overlay: <dir of first -c>/environments/NAME.toml")(
      "plugin-dir", po::value(&c.plugin_dirs)->composing(), "extra plugin directory (repeatable)")(
      "no-builtin-plugins", po::bool_switch(&c.no_builtin_plugins),
      "do not load the plugins installed beside the binary")(
      "allow-insecure-plugins", po::bool_switch(&c.allow_insecure_plugins),
      "load plugins from world-writable places or owned by other users")(
      "strict", po::bool_switch(&c.strict),
      "unknown params and rules in the configuration are errors");
}

struct loaded_setup {
  config::effective_config cfg;
  plugins::load_report plugins;
  std::vector<detector_spec> specs;
};

loaded_setup load_setup(const common_options& c, bool quiet) {
  loaded_setup s;
  s.cfg = config::load_files(c.config_files, c.env);
  std::vector<std::string> dirs, optional;
  if (!c.no_builtin_plugins) {
    optional = plugins::builtin_plugin_dirs();
    dirs = optional;
  }
  for (const auto& d : s.cfg.global.plugin_dirs) dirs.push_back(d);
  for (const auto& d : c.plugin_dirs) dirs.push_back(d);
  plugins::trust_policy trust;
  trust.allow_insecure = c.allow_insecure_plugins;
  trust.sha256 = s.cfg.global.plugin_sha256;
  s.plugins = plugins::load_plugins(dirs, optional, trust);
  for (const auto& r : s.plugins.refusals)
    if (!quiet) std::fprintf(stderr, "trailhound: plugin refused: %s\n", r.c_str());
  for (const auto& m : s.plugins.modules)
    for (const auto& d : m.detectors) s.specs.push_back(d.spec);
  return s;
}

// Prints diagnostics; returns false when any is an error.
bool check_config(const loaded_setup& s, bool strict) {
  auto diags = config::validate(s.cfg, s.specs, strict);
  for (const auto& d : diags)
    std::fprintf(stderr, "trailhound: config %s: %s\n",
                 d.lvl == config::diagnostic::error ? "error" : "warning", d.message.c_str());
  return !config::has_errors(diags);
}

po::variables_map parse(const std::vector<std::string>& args, po::options_description& visible,
                        po::positional_options_description* pos = nullptr,
                        po::options_description* hidden = nullptr) {
  po::options_description all;
  all.add(visible);
  if (hidden) all.add(*hidden);
  po::variables_map vm;
  auto parser = po::command_line_parser(args).options(all);
  if (pos) parser.positional(*pos);
  po::store(parser.run(), vm);
  po::notify(vm);
  return vm;
}

int cmd_scan(const std::vector<std::string>& args, bool learn_command) {
  common_options c;
  std::vector<std::string> outputs, paths;
  std::string fail_on, state_path;
  bool quiet = false, no_state = false, learn_only = learn_command, resume = false;
  unsigned checkpoint_files = 64;
  unsigned threads = 0;
  double hang_timeout_s = 120;
  po::options_description d(learn_command ? "trailhound learn [options] PATH...\n\nOptions"
                                          : "trailhound scan [options] PATH...\n\nOptions");
  add_common(d, c);
  d.add_options()("help,h", "show this help")(
      "output,o", po::value(&outputs)->composing(),
      "findings sink: jsonl:PATH or jsonl:- (default: JSONL on stdout; repeatable)")(
      "fail-on", po::value(&fail_on),
      "exit with code 3 when a finding at or above this severity was produced "
      "(info|low|medium|high|critical)")(
      "threads", po::value(&threads),
      "loader threads: read, inflate, split and parse (default: one per core)")(
      "state", po::value(&state_path),
      "state store (SQLite file) of learned baselines: restored before, saved after the scan")(
      "no-state", po::bool_switch(&no_state),
      "run without a state store, even if --state is given")(
      "learn-only", po::bool_switch(&learn_only), "build baselines only: no findings are written")(
      "resume", po::bool_switch(&resume),
      "with --state: skip the files an earlier (interrupted) run already processed")(
      "checkpoint-files", po::value(&checkpoint_files),
      "with --state: checkpoint state, ledger and findings every N files (default 64)")(
      "hang-timeout", po::value(&hang_timeout_s),
      "stop the scan (exit code 4) when one detector call runs longer than this many seconds "
      "(default 120; 0: wait forever)")("quiet,q", po::bool_switch(&quiet), "no summary on stderr");
  po::options_description hidden;
  hidden.add_options()("path", po::value(&paths)->composing());
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm = parse(args, d, &pos, &hidden);
  if (vm.count("help")) {
    std::cout
        << d
        << "\nExit codes: 0 no problem, 1 usage or configuration error, 2 some input "
           "could not be read or parsed, 3 --fail-on threshold reached, 4 a detector hung (scan "
           "stopped).\n";
    return EXIT_OK;
  }
  if (paths.empty()) {
    std::fprintf(stderr, "trailhound scan: no PATH given (use - for stdin)\n");
    return EXIT_USAGE;
  }
  std::optional<int32_t> fail_threshold;
  if (!fail_on.empty()) {
    fail_threshold = parse_severity(fail_on);
    if (!fail_threshold) {
      std::fprintf(stderr, "trailhound scan: --fail-on: unknown severity '%s'\n", fail_on.c_str());
      return EXIT_USAGE;
    }
  }
  loaded_setup s = load_setup(c, quiet);
  if (!check_config(s, c.strict)) return EXIT_USAGE;
  if (s.specs.empty() && !quiet)
    std::fprintf(stderr, "trailhound: warning: no detector plugin loaded\n");

  findings::collector out(&s.cfg, s.cfg.global.environment);
  if (!learn_only) {
    if (outputs.empty()) outputs.push_back("jsonl:-");
    for (const auto& o : outputs) out.add_sink(sinks::make_sink(o));
  }
  std::unique_ptr<state::state_store> store;
  if (resume && (state_path.empty() || no_state)) {
    std::fprintf(stderr, "trailhound scan: --resume needs --state PATH\n");
    return EXIT_USAGE;
  }
  if (!state_path.empty() && !no_state) {
    std::string warning;
    store = state::state_store::open(state_path, warning);
    if (!warning.empty()) std::fprintf(stderr, "trailhound: warning: %s\n", warning.c_str());
  } else if (learn_only && !quiet) {
    std::fprintf(stderr, "trailhound: warning: learning without --state keeps nothing\n");
  }

  engine::engine_options eopts;
  eopts.environment = s.cfg.global.environment;
  engine::engine eng(s.cfg, out, eopts);
  for (const auto& m : s.plugins.modules)
    for (const auto& det : m.detectors) eng.add(det);
  // A call that never returns cannot be interrupted; the scan ends with a clear report instead
  // of hanging: findings so far are made durable (bounded by an alarm in case the sink is what
  // hangs), then the process exits. State is not saved: --resume continues from the last
  // checkpoint once the detector is disabled or fixed.
  engine::hang_watchdog watchdog(
      eng, static_cast<int64_t>(hang_timeout_s * 1000), [&](const std::string& line) {
        std::fprintf(stderr, "trailhound: error: %s\n", line.c_str());
        std::fprintf(stderr,
                     "trailhound: findings written so far are kept; disable the detector "
                     "([detectors.<id>] enabled = false) or fix it and scan again%s\n",
                     store ? " (--resume continues after the last checkpoint)" : "");
        std::fflush(stderr);
        ::alarm(10);
        out.flush();
        std::_Exit(EXIT_HUNG);
      });
  eng.start();  // detectors that fail to start are reported by the engine and counted
  const std::string& env = s.cfg.global.environment;
  if (store) {
    auto r = state::restore_all(*store, eng, env);
    for (const auto& m : r.messages) std::fprintf(stderr, "trailhound: state: %s\n", m.c_str());
    if (!quiet && !r.restored.empty())
      std::fprintf(stderr, "trailhound: state: restored %zu detector(s) from %s\n",
                   r.restored.size(), state_path.c_str());
  }

  pipeline::scan_options so;
  so.paths = paths;
  so.limits.max_depth = static_cast<uint32_t>(s.cfg.global.max_depth);
  so.limits.max_record_bytes = static_cast<uint64_t>(s.cfg.global.max_record_bytes);
  so.limits.max_file_bytes = static_cast<uint64_t>(s.cfg.global.max_file_bytes);
  so.dedup_window_ms = s.cfg.global.dedup_window_s * 1000;
  so.loader_threads = threads;
  so.progress = !quiet && ::isatty(STDERR_FILENO);
  // Crash-safe runs: every checkpoint_files files, findings are made durable first, then the
  // detectors' state and the ledger of processed files are committed in one transaction. A
  // killed run resumed with --resume skips ledgered files; findings it writes again carry the
  // same ids and are dropped by the collector (the output file's ids are preloaded).
  std::vector<state::ledger_entry> pending;
  auto checkpoint = [&] {
    if (!store || pending.empty()) return;
    out.flush();
    store->begin();
    try {
      state::save_all(*store, eng, env);
      for (const auto& e : pending) store->add_to_ledger(env, e);
      store->commit();
    } catch (...) {
      store->rollback();
      throw;
    }
    pending.clear();
  };
  if (store) {
    if (resume)
      so.skip = [&](const input::input_file& f) {
        state::ledger_entry e;
        return state::fingerprint(f.path, e) && store->in_ledger(env, e);
      };
    so.after_file = [&](const input::input_file& f) {
      try {
        state::ledger_entry e;
        if (state::fingerprint(f.path, e)) pending.push_back(std::move(e));
        if (pending.size() >= std::max(1u, checkpoint_files)) checkpoint();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "trailhound: state: checkpoint failed: %s\n", e.what());
      }
    };
  }
  pipeline::scan_summary sum = pipeline::run_scan(so, eng, [](const std::string& line) {
    std::fprintf(stderr, "trailhound: %s\n", line.c_str());
  });
  out.flush();
  if (store) {
    store->begin();
    auto r = state::save_all(*store, eng, env);
    for (const auto& e : pending) store->add_to_ledger(env, e);
    store->commit();
    pending.clear();
    for (const auto& m : r.messages) std::fprintf(stderr, "trailhound: state: %s\n", m.c_str());
  }
  out.close();
  findings::collector_stats fs = out.stats();
  if (!quiet) print_summary(stderr, sum, fs, eng.stats());

  if (fail_threshold && fs.max_severity >= *fail_threshold) return EXIT_FINDINGS;
  if (sum.had_input_errors()) return EXIT_INPUT;
  return EXIT_OK;
}

std::string join_subscriptions(const detector_spec& d) {
  std::string out;
  for (const auto& s : d.subscriptions) {
    if (!out.empty()) out += ", ";
    out += s.event_source + ":" + s.event_name;
  }
  return out;
}

int cmd_plugins(const std::vector<std::string>& args) {
  common_options c;
  std::vector<std::string> rest;
  po::options_description d(
      "trailhound plugins list [options]\ntrailhound plugins describe ID [options]\n\nOptions");
  add_common(d, c);
  d.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("rest", po::value(&rest)->composing());
  po::positional_options_description pos;
  pos.add("rest", -1);
  po::variables_map vm = parse(args, d, &pos, &hidden);
  if (vm.count("help") || rest.empty()) {
    std::cout << d;
    return rest.empty() && !vm.count("help") ? EXIT_USAGE : EXIT_OK;
  }
  loaded_setup s = load_setup(c, false);
  if (rest[0] == "list") {
    std::printf("%-22s %-8s %-5s %-40s %s\n", "ID", "VERSION", "ABI", "SUBSCRIPTIONS", "FILE");
    for (const auto& det : s.specs) {
      std::string subs = join_subscriptions(det);
      if (subs.size() > 40) subs = subs.substr(0, 37) + "...";
      std::printf("%-22s %-8s %u.%-3u %-40s %s\n", det.id.c_str(), det.version.c_str(),
                  det.module_abi_major, det.module_min_host_minor, subs.c_str(), det.file.c_str());
    }
    return s.plugins.refusals.empty() ? EXIT_OK : EXIT_INPUT;
  }
  if (rest[0] == "describe") {
    if (rest.size() < 2) {
      std::fprintf(stderr, "trailhound plugins describe: which detector id?\n");
      return EXIT_USAGE;
    }
    for (const auto& det : s.specs) {
      if (det.id != rest[1]) continue;
      std::printf("%s %s - %s\n", det.id.c_str(), det.version.c_str(), det.title.c_str());
      if (!det.description.empty()) std::printf("\n%s\n", det.description.c_str());
      std::printf("\nmodule:  %s %s (ABI %u, needs host minor >= %u)\nfile:    %s\n",
                  det.module_name.c_str(), det.module_version.c_str(), det.module_abi_major,
                  det.module_min_host_minor, det.file.c_str());
      std::string state = det.state_schema_version
                              ? "schema " + std::to_string(det.state_schema_version)
                              : std::string("none");
      std::printf("state:   %s\n", state.c_str());
      std::printf("\nsubscriptions:\n");
      for (const auto& sub : det.subscriptions)
        std::printf("  %s  %s\n", sub.event_source.c_str(), sub.event_name.c_str());
      std::printf("\nrules:\n");
      for (const auto& r : det.rules) {
        std::printf("  %-40s %-8s %s\n", r.id.c_str(), severity_name(r.severity), r.title.c_str());
        if (!r.mitre.empty()) std::printf("  %-40s          MITRE %s\n", "", r.mitre.c_str());
        if (!r.description.empty()) std::printf("      %s\n", r.description.c_str());
      }
      std::printf("\nparams:\n");
      if (det.params.empty()) std::printf("  (none)\n");
      for (const auto& p : det.params) {
        std::printf("  %-28s %-12s default %s", p.name.c_str(), param_type_name(p.type),
                    p.default_value.c_str());
        if (p.has_range) std::printf("  range [%g, %g]", p.min_value, p.max_value);
        std::printf("\n      %s\n", p.description.c_str());
      }
      return EXIT_OK;
    }
    std::fprintf(stderr,
                 "trailhound plugins describe: no detector '%s' (see `trailhound plugins list`)\n",
                 rest[1].c_str());
    return EXIT_USAGE;
  }
  std::fprintf(stderr, "trailhound plugins: unknown subcommand '%s' (list, describe)\n",
               rest[0].c_str());
  return EXIT_USAGE;
}

int cmd_config(const std::vector<std::string>& args) {
  common_options c;
  std::vector<std::string> rest;
  po::options_description d(
      "trailhound config show [options]\ntrailhound config check [options]\n\nOptions");
  add_common(d, c);
  d.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("rest", po::value(&rest)->composing());
  po::positional_options_description pos;
  pos.add("rest", -1);
  po::variables_map vm = parse(args, d, &pos, &hidden);
  if (vm.count("help") || rest.empty()) {
    std::cout << d;
    return rest.empty() && !vm.count("help") ? EXIT_USAGE : EXIT_OK;
  }
  loaded_setup s = load_setup(c, false);
  if (rest[0] == "show") {
    std::fputs(config::show(s.cfg, &s.specs).c_str(), stdout);
    return EXIT_OK;
  }
  if (rest[0] == "check") {
    bool ok = check_config(s, c.strict);
    // Params are also resolved (defaults parsed) so a broken default is caught here too.
    for (const auto& spec : s.specs) {
      try {
        config::resolve_params(spec, s.cfg.find(spec.id));
      } catch (const state::state_error& e) {
        std::fprintf(stderr, "trailhound: %s\n", e.what());
        return EXIT_USAGE;
      } catch (const config::config_error& e) {
        std::fprintf(stderr, "trailhound: config error: %s\n", e.what());
        ok = false;
      }
    }
    std::printf("%s: %zu detector(s) loaded, %zu file(s): %s\n", ok ? "ok" : "invalid",
                s.specs.size(), s.cfg.files.size(),
                ok ? "configuration is valid" : "see errors above");
    return ok ? EXIT_OK : EXIT_USAGE;
  }
  std::fprintf(stderr, "trailhound config: unknown subcommand '%s' (show, check)\n",
               rest[0].c_str());
  return EXIT_USAGE;
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(USAGE, stderr);
    return EXIT_USAGE;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "scan") return cmd_scan(args, false);
    if (cmd == "learn") return cmd_scan(args, true);
    if (cmd == "plugins") return cmd_plugins(args);
    if (cmd == "config") return cmd_config(args);
    if (cmd == "version" || cmd == "--version") {
      std::printf("trailhound %s (plugin ABI %d.%d)\n", TRAILHOUND_VERSION, TH_ABI_MAJOR,
                  TH_ABI_MINOR);
      return EXIT_OK;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(USAGE, stdout);
      return EXIT_OK;
    }
    std::fprintf(stderr, "trailhound: unknown command '%s'\n\n%s", cmd.c_str(), USAGE);
    return EXIT_USAGE;
  } catch (const state::state_error& e) {
    std::fprintf(stderr, "trailhound: %s\n", e.what());
    return EXIT_USAGE;
  } catch (const config::config_error& e) {
    std::fprintf(stderr, "trailhound: config error: %s\n", e.what());
    return EXIT_USAGE;
  } catch (const po::error& e) {
    std::fprintf(stderr, "trailhound %s: %s\n", cmd.c_str(), e.what());
    return EXIT_USAGE;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trailhound: error: %s\n", e.what());
    return EXIT_USAGE;
  }
}

}  // namespace trailhound::cli
