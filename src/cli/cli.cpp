#include "fakeless/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "fakeless/analysis.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/report/writers.hpp"
#include "fakeless/scan/scanner.hpp"
#include "fakeless/version.hpp"

namespace fakeless::cli {
namespace {

constexpr int kExitUsage = 2;

const std::vector<std::string> kSubcommands = {"scan", "features", "help"};

// `fakeless PATH...` means `fakeless scan PATH...`.
std::vector<std::string> with_default_subcommand(std::vector<std::string> args) {
  if (args.empty()) return args;
  const std::string& first = args.front();
  const bool global = first == "-h" || first == "--help" || first == "--version" || first == "-V";
  const bool sub = std::find(kSubcommands.begin(), kSubcommands.end(), first) != kSubcommands.end();
  if (!global && !sub) args.insert(args.begin(), "scan");
  return args;
}

struct LogOptions {
  bool quiet = false;
  int verbose = 0;
  std::string level;
};

void add_log_options(CLI::App& app, LogOptions& o) {
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but results (and fatal errors)");
  app.add_flag("-v,--verbose", o.verbose, "More log output on stderr (-vv: trace)");
  app.add_option("--log-level", o.level, "Log level: trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

std::shared_ptr<spdlog::logger> make_logger(std::ostream& err, const LogOptions& o) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, /*force_flush=*/true);
  auto log = std::make_shared<spdlog::logger>("fakeless", sink);
  log->set_pattern("fakeless: %l: %v");
  spdlog::level::level_enum lvl = spdlog::level::info;
  if (o.quiet) lvl = spdlog::level::err;
  if (o.verbose == 1) lvl = spdlog::level::debug;
  if (o.verbose >= 2) lvl = spdlog::level::trace;
  if (!o.level.empty()) lvl = spdlog::level::from_str(o.level);
  log->set_level(lvl);
  return log;
}

std::string version_line() { return std::string("fakeless ") + kVersion + " (model " + model_name() + ")"; }

}  // namespace

int run_cli(const std::vector<std::string>& raw_args, std::ostream& out, std::ostream& err, const Environment& env) {
  CLI::App app{"fakeless: tells genuine lossless audio (FLAC, WAV, AIFF) from files decoded from a lossy codec,\n"
               "upsampled from a lower rate or padded from a lower bit depth. One JSON verdict per file.",
               "fakeless"};
  app.footer(
      "Run `fakeless PATH...` as a shorthand for `fakeless scan PATH...`.\n"
      "Exit status: 0 nothing flagged, 1 at least one file flagged, 2 usage or fatal error;\n"
      "4 is added when at least one file could not be analysed.");
  app.set_version_flag("-V,--version", version_line());
  app.require_subcommand(1);

  // scan
  auto* scan_cmd = app.add_subcommand("scan", "Analyse files and directories (recursively); one verdict per file");
  std::vector<std::string> paths;
  int jobs = std::max(1, env.hardware_threads);
  std::string format_name;
  bool ordered = false;
  std::vector<std::string> extensions = scan::default_extensions();
  bool follow = false;
  LogOptions scan_log;
  scan_cmd->add_option("paths", paths, "Files and directories to scan")->required()->type_name("PATH...");
  scan_cmd->add_option("-j,--jobs", jobs, "Files analysed in parallel (default: all cores)")
      ->check(CLI::Range(1, 1024));
  scan_cmd->add_option("--format", format_name,
                       "Output format: ndjson, json, table or csv (default: table on a terminal, else ndjson)")
      ->check(CLI::IsMember({"ndjson", "json", "table", "csv"}));
  scan_cmd->add_flag("--ordered", ordered, "Write records in input order (default: as files finish)");
  scan_cmd->add_option("--ext", extensions, "Audio extensions taken inside directories")
      ->delimiter(',')
      ->capture_default_str();
  scan_cmd->add_flag("--follow-symlinks", follow, "Follow symbolic links to directories (never loops)");
  add_log_options(*scan_cmd, scan_log);

  // features
  auto* feat_cmd = app.add_subcommand("features", "Print every feature of each file as one JSON line (for training)");
  std::vector<std::string> feat_paths;
  LogOptions feat_log;
  std::string feat_without;
  feat_cmd->add_option("files", feat_paths, "Audio files")->required()->type_name("FILE...");
  feat_cmd->add_option("--without", feat_without,
                       "Feature groups to leave out (their fields are null): holes,stereo,bits")
      ->check([](const std::string& v) {
        try {
          (void)FeatureGroups::without(v);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  add_log_options(*feat_cmd, feat_log);

  std::vector<std::string> args = with_default_subcommand(raw_args);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 and text for stdout.
    return app.exit(e, out, err) == 0 ? 0 : kExitUsage;
  }

  if (*scan_cmd) {
    auto log = make_logger(err, scan_log);
    scan::ScanOptions opt;
    opt.inputs = paths;
    opt.jobs = jobs;
    opt.ordered = ordered;
    opt.discover.extensions = extensions;
    opt.discover.follow_symlinks = follow;
    const report::Format fmt = format_name.empty()
                                   ? (env.stdout_is_terminal ? report::Format::table : report::Format::ndjson)
                                   : report::parse_format(format_name);
    auto writer = report::make_writer(fmt, out);
    const model::RuleModel model;
    const scan::ScanStats s = scan::run_scan(opt, model, *writer, *log, env.stop);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", s.seconds);
    log->info("{} files: {} ok, {} flagged, {} errors; {} non-audio files skipped; {} s{}", s.files, s.ok, s.flagged,
              s.errors, s.skipped, secs, s.interrupted ? " (interrupted)" : "");
    if (s.interrupted) return kExitUsage | s.exit_status();
    return s.exit_status();
  }

  if (*feat_cmd) {
    auto log = make_logger(err, feat_log);
    dsp::FftCache ffts;
    AnalysisOptions options;
    options.groups = FeatureGroups::without(feat_without);
    int status = 0;
    for (const auto& p : feat_paths) {
      if (env.stop != nullptr && env.stop->load()) return kExitUsage | status;
      nlohmann::ordered_json j;
      j["schema"] = report::kSchema;
      j["path"] = p;
      try {
        auto src = io::open_file(p);
        const FileFeatures f = extract_features(*src, ffts, options);
        j["status"] = "ok";
        j["format"] = {{"container", f.format.container}, {"encoding", f.format.encoding}};
        j["features"] = features_to_json(f);
      } catch (const Error& e) {
        j["status"] = "error";
        j["error"] = {{"code", std::string(to_string(e.code()))}, {"message", e.what()}};
        log->warn("{}: {}: {}", p, to_string(e.code()), e.what());
        status = 4;
      }
      out << report::dump_line(j) << '\n' << std::flush;
    }
    return status;
  }
  return kExitUsage;
}

}  // namespace fakeless::cli
