#include "fakeless/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include "fakeless/analysis.hpp"
#include "fakeless/cli/progress.hpp"
#include "fakeless/model/cnn_scorer.hpp"
#include "fakeless/model/rule_model.hpp"
#include "fakeless/model/trees.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/render/spectrogram.hpp"
#include "fakeless/report/html.hpp"
#include "fakeless/report/writers.hpp"
#include "fakeless/scan/cache.hpp"
#include "fakeless/scan/scanner.hpp"
#include "fakeless/version.hpp"

namespace fakeless::cli {
namespace {

struct NpyWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A patch set as a NumPy .npy file (format 1.0): float32, shape (patches, frames, bands).
void write_npy(const std::filesystem::path& path, const features::PatchSet& set) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(set.patches.size()) +
                       ", " + std::to_string(set.frames) + ", " + std::to_string(set.bands) + "), }";
  const std::size_t unpadded = 6 + 2 + 2 + header.size() + 1;  // magic, version, length, header, '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw NpyWriteError("cannot write " + path.string());
  const auto len = static_cast<std::uint16_t>(header.size());
  const char prefix[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xFF),
                           static_cast<char>(len >> 8)};
  f.write(prefix, sizeof prefix);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  static_assert(std::endian::native == std::endian::little, "the .npy writer assumes little-endian floats");
  for (const auto& p : set.patches) {
    f.write(reinterpret_cast<const char*>(p.values.data()), static_cast<std::streamsize>(p.values.size() * sizeof(float)));
  }
  f.close();
  if (!f) throw NpyWriteError("cannot write " + path.string() + " (disk full?)");
}

constexpr int kExitUsage = 2;

// `fakeless features` and `fakeless patches`: extract_features over each path, one JSON line
// per file; `ok(record, index, features)` fills an analysed file's record, a bad file is an
// error record and adds 4 to the status. Stops (kExitUsage) at SIGINT/SIGTERM; exceptions
// other than fakeless::Error (the output at fault) propagate.
template <class Ok>
int feature_lines(const std::vector<std::string>& paths, const AnalysisOptions& options, const Environment& env,
                  std::ostream& out, spdlog::logger& log, Ok ok) {
  dsp::FftCache ffts;
  int status = 0;
  for (std::size_t index = 0; index < paths.size(); ++index) {
    const auto& p = paths[index];
    if (env.stop != nullptr && env.stop->load()) return kExitUsage | status;
    nlohmann::ordered_json j;
    j["schema"] = report::kSchema;
    j["path"] = p;
    try {
      auto src = io::open_file(p);
      const FileFeatures f = extract_features(*src, ffts, options);
      j["status"] = "ok";
      ok(j, index, f);
    } catch (const Error& e) {
      j["status"] = "error";
      j["error"] = {{"code", std::string(to_string(e.code()))}, {"message", e.what()}};
      log.warn("{}: {}: {}", p, to_string(e.code()), e.what());
      status = 4;
    }
    out << report::dump_line(j) << '\n' << std::flush;
  }
  return status;
}

const std::vector<std::string> kSubcommands = {"scan", "features", "patches", "cache", "spectrogram", "report", "models", "help"};

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
  std::string file;
};

void add_log_options(CLI::App& app, LogOptions& o) {
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but results on stdout and nothing at all on stderr but fatal errors");
  app.add_flag("-v,--verbose", o.verbose, "More log output (-v debug, -vv trace)");
  app.add_option("--log-level", o.level, "Log level: trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-file", o.file,
                 "Also append the log to FILE, with timestamps, at info level (or -v/--log-level) even with -q")
      ->type_name("FILE");
}

// The log goes to stderr (through `stderr_sink`) and, with --log-file, to a file too:
// -q silences stderr only, so `-q --log-file F` is the cron set-up. Throws spdlog_ex when
// the log file cannot be opened.
std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr stderr_sink, const LogOptions& o) {
  spdlog::level::level_enum verbosity = spdlog::level::info;
  if (o.verbose == 1) verbosity = spdlog::level::debug;
  if (o.verbose >= 2) verbosity = spdlog::level::trace;
  if (!o.level.empty()) verbosity = spdlog::level::from_str(o.level);
  stderr_sink->set_level(o.quiet && o.level.empty() && o.verbose == 0 ? spdlog::level::err : verbosity);
  std::vector<spdlog::sink_ptr> sinks{stderr_sink};
  if (!o.file.empty()) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.file, /*truncate=*/false);
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] %l: %v");
    file->set_level(verbosity);
    sinks.push_back(file);
  }
  auto log = std::make_shared<spdlog::logger>("fakeless", sinks.begin(), sinks.end());
  spdlog::level::level_enum lowest = spdlog::level::off;
  for (const auto& sk : sinks) lowest = std::min(lowest, sk->level());
  log->set_level(lowest);
  log->flush_on(spdlog::level::trace);
  return log;
}

std::shared_ptr<spdlog::logger> make_logger(std::ostream& err, const LogOptions& o) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, /*force_flush=*/true);
  sink->set_pattern("fakeless: %l: %v");
  return make_logger(sink, o);
}

// A value given to --cache that is surely a path to scan, not a cache file (CLI11 takes
// the word after --cache as its value): an existing directory or an audio file.
bool looks_like_input(const std::string& value, const std::vector<std::string>& extensions) {
  std::error_code ec;
  if (std::filesystem::is_directory(value, ec)) return true;
  const auto dot = value.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = value.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::string mb(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / 1e6);
  return buf;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// RLIMIT_AS bounds what any allocation (ours or a decoder's) can take; past it malloc
// fails, which surfaces as an out_of_memory error record for that file. AddressSanitizer
// reserves terabytes of shadow memory, so the cap is not applied under it.
void limit_address_space(long mib, spdlog::logger& log) {
  if (kAddressSanitizer) {
    log.warn("--max-memory {} ignored: this build uses AddressSanitizer", mib);
    return;
  }
  rlimit lim{};
  lim.rlim_cur = static_cast<rlim_t>(mib) * 1024 * 1024;
  lim.rlim_max = RLIM_INFINITY;
  rlimit old{};
  if (::getrlimit(RLIMIT_AS, &old) == 0 && old.rlim_max != RLIM_INFINITY) {
    lim.rlim_cur = std::min(lim.rlim_cur, old.rlim_max);
    lim.rlim_max = old.rlim_max;
  }
  if (::setrlimit(RLIMIT_AS, &lim) != 0) log.warn("--max-memory: setrlimit failed; no cap applied");
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
  app.set_version_flag("-V,--version", std::function<std::string()>(version_line));  // lazy: parses the model
  app.require_subcommand(1);

  // scan
  auto* scan_cmd = app.add_subcommand("scan", "Analyse files and directories (recursively); one verdict per file");
  scan_cmd->footer(
      "Cache: --cache [FILE] keeps each verdict in an SQLite file (default " + scan::default_cache_path() +
      ");\n"
      "  an unchanged file (same path, size, mtime, model version and settings) is answered without decoding.\n"
      "  Write --cache last or before another option, or as --cache=FILE: the word after it is its value.\n"
      "Sharding: --shard K/N takes the paths whose FNV-1a 64 hash modulo N is K-1 (K = 1..N);\n"
      "  N runs with the same inputs cover every file exactly once; their NDJSON outputs concatenate.\n"
      "Exit status: 0 nothing flagged, 1 at least one file flagged, 2 usage or fatal error or interrupted;\n"
      "  4 is added when at least one file could not be analysed.");
  std::vector<std::string> paths;
  int jobs = std::max(1, env.hardware_threads);
  std::string format_name;
  bool ordered = false;
  std::vector<std::string> extensions = scan::default_extensions();
  std::vector<std::string> excludes;
  bool follow = false;
  double timeout_s = 0.0;
  long max_memory_mib = 0;
  std::string files_from;
  bool null_separated = false;
  std::string cache_file;
  std::string shard_text;
  bool quick = false;
  bool only_flagged = false;
  std::optional<double> threshold;
  std::string model_choice;
  std::string model_file;
  std::string cnn_file;
  bool segments_on = false;
  double segment_length = 5.0;
  std::string progress_mode = "auto";
  LogOptions scan_log;
  scan_cmd->add_option("paths", paths, "Files and directories to scan")->type_name("PATH...");
  scan_cmd->add_option("-j,--jobs", jobs, "Files analysed in parallel (default: all cores)")
      ->check(CLI::Range(1, 1024));
  scan_cmd->add_option("--format", format_name,
                       "Output format: ndjson, json, table or csv (default: table on a terminal, else ndjson)")
      ->check(CLI::IsMember({"ndjson", "json", "table", "csv"}));
  scan_cmd->add_flag("--ordered", ordered, "Write records in input order (default: as files finish)");
  scan_cmd->add_option("--ext", extensions, "Audio extensions taken inside directories (comma-separated)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  scan_cmd->add_option("--exclude", excludes,
                       "Leave out files and directories whose path or name matches GLOB (fnmatch; repeatable)")
      ->allow_extra_args(false)
      ->type_name("GLOB");
  scan_cmd->add_flag("--follow-symlinks", follow, "Follow symbolic links to directories (never loops)");
  scan_cmd->add_option("--files-from", files_from,
                       "Also scan the paths listed in FILE, one per line, or read from stdin with -")
      ->type_name("FILE|-");
  scan_cmd->add_flag("-0,--null", null_separated, "--files-from list is NUL-separated (find -print0)");
  auto* cache_opt = scan_cmd->add_option("--cache", cache_file, "Keep verdicts in an SQLite cache FILE (see below)")
                        ->expected(0, 1)
                        ->type_name("[FILE]");
  scan_cmd->add_option("--shard", shard_text, "Take only part K of N of the input set (K = 1..N; see below)")
      ->type_name("K/N")
      ->check([](const std::string& text) {
        try {
          (void)scan::Shard::parse(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  scan_cmd->add_flag("--quick", quick,
                     "Analyse 6 segments of 5 s seeked over each file instead of all of it (files over 60 s)");
  scan_cmd->add_flag("--only-flagged", only_flagged,
                     "Write only the records of flagged files (and error records)");
  scan_cmd->add_option("--threshold", threshold,
                       "Flag a file lossy when p_lossy >= P (default: the model's own, chosen on held-out training\n"
                       "data; see `fakeless models`)")
      ->type_name("P")
      ->check([](const std::string& text) {
        try {
          model::RuleParams p;
          p.lossy_threshold = std::stod(text);
          p.validate();
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      });
  scan_cmd->add_option("--model", model_choice,
                       "Scorer: fused (trees and CNN together, default), tree (the trained trees), cnn (the patch\n"
                       "CNN alone for the lossy call; other findings from the trees) or rule (the documented cutoff rule)")
      ->check(CLI::IsMember({"fused", "tree", "cnn", "rule"}));
  scan_cmd->add_option("--model-file", model_file, "Use this tree model (JSON from scripts/train-tree) instead of the built-in one")
      ->type_name("FILE");
  scan_cmd->add_option("--cnn-file", cnn_file, "Use this CNN model (JSON from scripts/train-cnn) instead of the built-in one")
      ->type_name("FILE");
  scan_cmd->add_flag("--segments", segments_on,
                     "Also score each file in segments with the CNN: adds \"segments\" to each verdict and flags a\n"
                     "lossy passage in an otherwise genuine file (\"spliced\")");
  auto* segment_length_opt =
      scan_cmd->add_option("--segment-length", segment_length, "Seconds per segment with --segments (1-3600)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  scan_cmd->add_option("--progress", progress_mode,
                       "Progress line on stderr: auto (only when stderr is a terminal), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  scan_cmd->add_option("--timeout", timeout_s, "Per-file time budget in seconds; a file over it is a timeout error (0: none)")
      ->check(CLI::Range(0.0, 1e7));
  scan_cmd->add_option("--max-memory", max_memory_mib,
                       "Cap the process's address space at this many MiB (at least 128; 0: no cap);\n"
                       "a decoder's allocation past it fails as an error record of the file at hand")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            const long mib = std::stol(v);
            return mib == 0 || (mib >= 128 && mib <= (1L << 30)) ? "" : "must be 0 or at least 128 (MiB)";
          },
          "0|MIB>=128"));
  std::string spectrogram_dir;
  scan_cmd->add_option("--spectrograms", spectrogram_dir,
                       "Write the spectrogram of every flagged file into DIR (created if missing;\n"
                       "named after the file plus a hash of its path)")
      ->type_name("DIR");
  add_log_options(*scan_cmd, scan_log);

  // cache
  auto* cache_cmd = app.add_subcommand("cache", "Inspect or maintain the result cache");
  cache_cmd->require_subcommand(1);
  cache_cmd->fallthrough();  // -q, -v, --log-file also after the action
  std::string cache_cmd_file = scan::default_cache_path();
  auto* cache_stats = cache_cmd->add_subcommand("stats", "Entries by model version, settings and verdict (JSON)");
  auto* cache_prune =
      cache_cmd->add_subcommand("prune", "Remove entries whose file is gone or changed, or from other model versions");
  auto* cache_export = cache_cmd->add_subcommand("export", "Print every entry as an NDJSON verdict record");
  for (auto* sub : {cache_stats, cache_prune, cache_export}) {
    sub->add_option("--cache", cache_cmd_file, "The cache file")->type_name("FILE")->capture_default_str();
  }
  LogOptions cache_log;
  add_log_options(*cache_cmd, cache_log);

  // features
  auto* feat_cmd = app.add_subcommand("features", "Print every feature of each file as one JSON line (for training)");
  std::vector<std::string> feat_paths;
  LogOptions feat_log;
  std::string feat_without;
  feat_cmd->add_option("files", feat_paths, "Audio files")->required()->type_name("FILE...");
  feat_cmd->add_option("--without", feat_without,
                       "Feature groups to leave out (their fields are null): holes,stereo,bits,grid")
      ->check([](const std::string& v) {
        try {
          (void)FeatureGroups::without(v);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  add_log_options(*feat_cmd, feat_log);

  // patches
  auto* patch_cmd = app.add_subcommand(
      "patches", "Write each file's CNN input patches as a .npy array (n x frames x bands, float32) into a directory,\n"
                 "with one JSON line per file on stdout (for training; see features/patches.hpp)");
  std::vector<std::string> patch_paths;
  std::string patch_dir;
  features::PatchParams patch_params;
  LogOptions patch_log;
  patch_cmd->add_option("files", patch_paths, "Audio files")->required()->type_name("FILE...");
  patch_cmd->add_option("-o,--output", patch_dir, "Directory for the .npy files (created if missing)")
      ->required()
      ->type_name("DIR");
  patch_cmd->add_option("--budget", patch_params.budget, "Patches per file (1-1000)")->capture_default_str();
  patch_cmd->add_option("--segment-length", patch_params.segment_s,
                        "Segment mode: segments of this many seconds, 2 patches each (0: off)")
      ->capture_default_str();
  add_log_options(*patch_cmd, patch_log);

  // models
  auto* models_cmd = app.add_subcommand("models", "Print the models compiled into this binary and their model cards");
  bool models_json = false;
  LogOptions models_log;
  models_cmd->add_flag("--json", models_json, "One JSON object per model (name, heads, card) instead of the cards");
  add_log_options(*models_cmd, models_log);

  // spectrogram
  auto* spec_cmd = app.add_subcommand(
      "spectrogram", "Draw a file's spectrogram (PNG) with its verdict, the detected cutoff and, on request, holes;\n"
                     "prints the file's verdict record on stdout");
  std::string spec_file;
  std::string spec_out;
  render::SpectrogramParams spec;
  LogOptions spec_log;
  spec_cmd->add_option("file", spec_file, "Audio file")->required()->type_name("FILE");
  spec_cmd->add_option("-o,--output", spec_out, "PNG file to write")->required()->type_name("PNG");
  spec_cmd->add_option("--width", spec.width, "Image width in pixels, the whole image (320-8192)")->capture_default_str();
  spec_cmd->add_option("--height", spec.height, "Image height in pixels, the whole image (200-4320)")
      ->capture_default_str();
  spec_cmd->add_option("--range-db", spec.range_db, "Dynamic range of the colour scale in dB (20-250)")
      ->capture_default_str();
  spec_cmd->add_flag("--holes", spec.holes, "Highlight spectral holes below the cutoff (features/holes_mask.hpp)");
  add_log_options(*spec_cmd, spec_log);

  // report
  auto* report_cmd = app.add_subcommand(
      "report", "Turn scan results (NDJSON) into one self-contained HTML page with spectrograms of flagged files");
  std::string report_in;
  std::string report_out = "-";
  report::HtmlOptions html;
  render::SpectrogramParams report_img;
  report_img.width = 800;
  report_img.height = 400;
  LogOptions report_log;
  report_cmd->add_option("results", report_in, "NDJSON results of `fakeless scan` (- for stdin)")
      ->required()
      ->type_name("RESULTS.ndjson|-");
  report_cmd->add_option("-o,--output", report_out, "HTML file to write (- for stdout)")->capture_default_str();
  report_cmd->add_option("--max-images", html.max_images,
                         "Spectrograms embedded at most, for the first flagged files (0-1000000)")
      ->capture_default_str();
  report_cmd->add_option("--image-width", report_img.width, "Width of each embedded spectrogram (320-8192)")
      ->capture_default_str();
  report_cmd->add_option("--image-height", report_img.height, "Height of each embedded spectrogram (200-4320)")
      ->capture_default_str();
  add_log_options(*report_cmd, report_log);

  std::vector<std::string> args = with_default_subcommand(raw_args);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 and text for stdout.
    return app.exit(e, out, err) == 0 ? 0 : kExitUsage;
  }

  if (*scan_cmd) {
    auto usage = [&](const std::string& why) {
      err << "fakeless: " << why << "\nRun with --help for more information.\n";
      return kExitUsage;
    };
    if (cache_opt->count() > 0 && looks_like_input(cache_file, extensions)) {
      return usage("--cache " + cache_file + ": that looks like a path to scan, not a cache file; write --cache " +
                   "after the paths, or --cache=FILE");
    }
    if (paths.empty() && files_from.empty()) return usage("nothing to scan: give PATH... or --files-from FILE|-");
    if (null_separated && files_from.empty()) return usage("-0 only applies to --files-from");
    const bool progress_on = progress_mode == "always" || (progress_mode == "auto" && env.stderr_is_terminal);
    const bool err_color = env.stderr_is_terminal && !env.no_color;
    Progress progress(err, progress_on && !scan_log.quiet, err_color);
    std::shared_ptr<spdlog::logger> log;
    try {
      log = make_logger(std::make_shared<ProgressAwareSink>(progress, err_color), scan_log);
    } catch (const spdlog::spdlog_ex& e) {
      return usage(std::string("--log-file: ") + e.what());
    }

    if (max_memory_mib > 0) limit_address_space(max_memory_mib, *log);
    std::optional<std::string> images_dir;
    if (!spectrogram_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(spectrogram_dir, ec);
      if (ec || !std::filesystem::is_directory(spectrogram_dir)) {
        log->error("--spectrograms {}: cannot create the directory: {}", spectrogram_dir,
                   ec ? ec.message() : "not a directory");
        return kExitUsage;
      }
      images_dir = spectrogram_dir;
    }
    scan::ScanOptions opt;
    opt.analysis.timeout_s = timeout_s;
    opt.inputs = paths;
    opt.jobs = jobs;
    opt.ordered = ordered;
    opt.only_flagged = only_flagged;
    opt.discover.extensions = extensions;
    opt.discover.excludes = excludes;
    opt.discover.follow_symlinks = follow;
    opt.analysis.quick = quick;
    if (!shard_text.empty()) opt.shard = scan::Shard::parse(shard_text);
    std::ifstream list_file;
    if (!files_from.empty()) {
      if (files_from == "-") {
        if (env.in == nullptr) return usage("--files-from -: no standard input");
        opt.files_from = env.in;
      } else {
        list_file.open(files_from, std::ios::binary);
        if (!list_file) return usage("--files-from: cannot read " + files_from);
        opt.files_from = &list_file;
      }
      opt.files_from_separator = null_separated ? '\0' : '\n';
    }
    std::optional<scan::ResultCache> cache;
    if (cache_opt->count() > 0) {
      if (cache_file.empty()) cache_file = scan::default_cache_path();
      try {
        cache.emplace(cache_file);
      } catch (const scan::CacheError& e) {
        log->critical("{}", e.what());
        return kExitUsage;
      }
      opt.cache = &*cache;
      log->debug("cache: {}", cache_file);
    }
    std::unique_ptr<model::Scorer> scorer;
    std::optional<model::TreeModel> trees;
    std::optional<model::CnnModel> cnn_loaded;
    try {
      // The CNN is read only where it scores (or decides the default): --model tree and
      // rule start without it.
      const model::CnnModel* cnn = nullptr;
      if (model_choice.empty() || model_choice == "cnn" || model_choice == "fused") {
        if (!cnn_file.empty()) {
          cnn_loaded = model::CnnModel::from_file(cnn_file);
          cnn = &*cnn_loaded;
        } else {
          cnn = model::CnnModel::builtin();
        }
      }
      if (model_choice.empty()) model_choice = cnn != nullptr && cnn->fusion() ? "fused" : "tree";
      if (model_choice == "rule") {
        if (!model_file.empty() || !cnn_file.empty()) throw std::invalid_argument("--model-file and --cnn-file need a trained scorer, not --model rule");
        model::RuleParams params;
        if (threshold) params.lossy_threshold = *threshold;
        scorer = std::make_unique<model::RuleModel>(params);
      } else {
        trees = model_file.empty() ? model::TreeModel::builtin() : model::TreeModel::from_file(model_file);
        if (model_choice == "tree") {
          if (!cnn_file.empty()) throw std::invalid_argument("--cnn-file needs --model cnn or fused");
          if (threshold) trees = trees->with_threshold(*threshold);
          scorer = std::make_unique<model::TreeModel>(std::move(*trees));
        } else {
          if (cnn == nullptr) throw std::invalid_argument("this binary has no CNN model built in: give --cnn-file or --model tree");
          if (model_choice == "cnn") {
            scorer = std::make_unique<model::CnnScorer>(*trees, *cnn, threshold);
          } else {
            scorer = std::make_unique<model::FusedScorer>(*trees, *cnn, threshold);
          }
        }
      }
      if (!segments_on && segment_length_opt->count() > 0) throw std::invalid_argument("--segment-length needs --segments");
      const double segment_s = segments_on ? segment_length : 0.0;
      opt.analysis.segment_s = segment_s;
      if (segment_s > 0.0 && !scorer->patch_params(segment_s)) {
        throw std::invalid_argument("--segments needs a scorer with the CNN (--model fused or cnn)");
      }
      if (segment_s > 0.0 && quick) throw std::invalid_argument("--segments scores the whole file: it cannot go with --quick");
    } catch (const std::exception& e) {
      log->critical("{}", e.what());
      return kExitUsage;
    }
    const model::Scorer& model = *scorer;
    log->debug("model: {} (lossy threshold {})", model.name(), model.lossy_threshold());
    opt.observer = &progress;

    opt.spectrogram_dir = images_dir;
    const report::Format fmt = format_name.empty()
                                   ? (env.stdout_is_terminal ? report::Format::table : report::Format::ndjson)
                                   : report::parse_format(format_name);
    auto writer = report::make_writer(fmt, out, env.stdout_is_terminal && !env.no_color);
    progress.start();
    const scan::ScanStats s = scan::run_scan(opt, model, *writer, *log, env.stop);
    progress.stop();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", s.seconds);
    std::string extra;
    if (s.skipped > 0) extra += "; " + std::to_string(s.skipped) + " non-audio files skipped";
    if (s.excluded > 0) extra += "; " + std::to_string(s.excluded) + " excluded";
    if (opt.shard.count > 1) {
      extra += "; shard " + std::to_string(opt.shard.index) + "/" + std::to_string(opt.shard.count) + ", " +
               std::to_string(s.other_shards) + " left to other shards";
    }
    log->info("{} files ({} decoded, {} from cache): {} ok, {} flagged, {} errors{}; {} MB in {} s{}", s.files,
              s.decoded, s.from_cache, s.ok, s.flagged, s.errors, extra, mb(s.bytes), secs,
              s.interrupted ? " (interrupted)" : "");
    if (images_dir) {
      log->info("{} spectrograms written to {}{}", s.images, *images_dir,
                s.image_errors > 0 ? fmt::format(" ({} could not be made)", s.image_errors) : std::string());
    }
    if (s.interrupted) return kExitUsage | s.exit_status();
    return s.exit_status();
  }

  if (*cache_cmd) {
    std::shared_ptr<spdlog::logger> log;
    try {
      log = make_logger(err, cache_log);
    } catch (const spdlog::spdlog_ex& e) {
      err << "fakeless: --log-file: " << e.what() << '\n';
      return kExitUsage;
    }
    std::error_code ec;
    if (!std::filesystem::exists(cache_cmd_file, ec)) {
      log->critical("no cache at {}", cache_cmd_file);
      return kExitUsage;
    }
    try {
      scan::ResultCache cache(cache_cmd_file);
      if (*cache_stats) {
        const scan::CacheStats st = cache.stats();
        nlohmann::ordered_json j;
        j["file"] = cache_cmd_file;
        j["entries"] = st.entries;
        j["errors"] = st.errors;
        j["bytes"] = st.file_bytes;
        j["current_model"] = model_name();
        j["models"] = st.by_model;
        j["settings"] = st.by_settings;
        j["verdicts"] = st.by_verdict;
        out << report::dump_line(j) << '\n' << std::flush;
      } else if (*cache_prune) {
        const scan::PruneResult r = cache.prune(model_name());
        nlohmann::ordered_json j;
        j["removed"] = r.removed_gone + r.removed_changed + r.removed_model;
        j["removed_gone"] = r.removed_gone;
        j["removed_changed"] = r.removed_changed;
        j["removed_other_model"] = r.removed_model;
        j["kept"] = r.kept;
        out << report::dump_line(j) << '\n' << std::flush;
        log->info("pruned {}: removed {} gone, {} changed, {} from other models; kept {}", cache_cmd_file,
                  r.removed_gone, r.removed_changed, r.removed_model, r.kept);
      } else if (*cache_export) {
        const std::int64_t n = cache.export_ndjson(out);
        log->info("exported {} entries", n);
      }
    } catch (const scan::CacheError& e) {
      log->critical("{}", e.what());
      return kExitUsage;
    }
    return 0;
  }

  if (*feat_cmd) {
    auto log = make_logger(err, feat_log);
    AnalysisOptions options;
    options.groups = FeatureGroups::without(feat_without);
    return feature_lines(feat_paths, options, env, out, *log,
                         [](nlohmann::ordered_json& j, std::size_t, const FileFeatures& f) {
                           j["format"] = {{"container", f.format.container}, {"encoding", f.format.encoding}};
                           j["features"] = features_to_json(f);
                         });
  }
  if (*patch_cmd) {
    auto log = make_logger(err, patch_log);
    try {
      patch_params.validate();
      std::filesystem::create_directories(patch_dir);
    } catch (const std::exception& e) {
      log->critical("{}", e.what());
      return kExitUsage;
    }
    AnalysisOptions options;
    options.groups = FeatureGroups::without("holes,stereo,bits,grid");  // the patches need the mid STFT only
    options.patches = patch_params;
    try {
      return feature_lines(patch_paths, options, env, out, *log,
                           [&](nlohmann::ordered_json& j, std::size_t index, const FileFeatures& f) {
                             const auto& set = patch_params.segment_s > 0.0 ? f.segment_patches : f.patches;
                             char name[32];
                             std::snprintf(name, sizeof name, "%06zu.npy", index);
                             write_npy(std::filesystem::path(patch_dir) / name, set);
                             j["npy"] = name;
                             j["sample_rate"] = f.format.sample_rate;
                             j["duration_s"] = number(f.duration_s(), 3);
                             j["patches"] = set.patches.size();
                             j["frames"] = set.frames;
                             j["bands"] = set.bands;
                             auto starts = nlohmann::ordered_json::array();
                             auto segs = nlohmann::ordered_json::array();
                             for (const auto& patch : set.patches) {
                               starts.push_back(number(set.start_s(patch), 3));
                               segs.push_back(patch.segment);
                             }
                             j["start_s"] = std::move(starts);
                             if (!set.segments.empty()) {
                               j["patch_segment"] = std::move(segs);
                               auto spans = nlohmann::ordered_json::array();
                               for (const auto& sg : set.segments) spans.push_back({number(sg.start_s, 3), number(sg.end_s, 3)});
                               j["segments"] = std::move(spans);
                             }
                           });
    } catch (const NpyWriteError& e) {
      log->critical("{}", e.what());  // the output is at fault, not the file: stop
      return kExitUsage;
    }
  }
  if (*models_cmd) {
    auto log = make_logger(err, models_log);
    const auto files = model::embedded_files();
    auto card_of = [&](std::string_view json_name) -> std::string_view {
      const std::string md = std::string(json_name.substr(0, json_name.size() - 5)) + ".md";
      for (const auto& f : files) {
        if (f.name == md) return f.data;
      }
      return {};
    };
    const std::string default_name = default_scorer().name();
    int shown = 0;
    for (const auto& f : files) {
      if (f.name.size() <= 5 || f.name.substr(f.name.size() - 5) != ".json") continue;
      // The default scorer's name holds the name of every model it uses (fused: both).
      std::string name;
      std::string base;
      nlohmann::ordered_json summary;
      try {
        if (f.name.rfind("cnn-", 0) == 0) {
          const auto m = model::CnnModel::from_json_text(f.data, std::string(f.name));
          name = m.name();
          base = m.base_name();
          summary = m.summary();
        } else {
          const auto m = model::TreeModel::from_json_text(f.data, std::string(f.name));
          name = m.name();
          base = m.base_name();
          summary = m.summary();
        }
      } catch (const std::exception& e) {
        log->error("{}", e.what());
        return kExitUsage;
      }
      const bool is_default = default_name.find(name) != std::string::npos;
      const std::string_view card = card_of(f.name);
      if (models_json) {
        nlohmann::ordered_json j = summary;
        j["default"] = is_default;
        j["file"] = std::string(f.name);
        j["card"] = std::string(card);
        out << report::dump_line(j) << '\n';
      } else {
        if (shown > 0) out << "\n";
        out << "# " << base << (is_default ? "  (default)" : "") << "\n" << summary.dump() << "\n\n";
        out << (card.empty() ? std::string_view("(no model card)\n") : card);
      }
      ++shown;
    }
    if (!models_json) {
      out << (shown > 0 ? "\n" : "") << "# " << model::RuleModel::version()
          << "  (--model rule)\nThe documented cutoff rule: see README.md, \"How the verdict is made\".\n";
    }
    out << std::flush;
    return 0;
  }
  if (*spec_cmd) {
    auto log = make_logger(err, spec_log);
    try {
      spec.validate();
    } catch (const std::invalid_argument& e) {
      log->error("{}", e.what());
      return kExitUsage;
    }
    dsp::FftCache ffts;
    const AnalysisOptions options;
    const model::Scorer& model = default_scorer();
    render::SpectrogramResult r;
    try {
      r = render::spectrogram_of_path(spec_file, ffts, options, model, spec);
    } catch (const Error& e) {
      log->error("{}: {}: {}", spec_file, to_string(e.code()), e.what());
      out << report::dump_line(report::to_json(report::error_verdict(spec_file, e.code(), e.what()))) << '\n'
          << std::flush;
      return 4;
    }
    try {
      render::write_file(spec_out, r.png);
    } catch (const std::exception& e) {
      log->error("{}", e.what());
      return kExitUsage;
    }
    out << report::dump_line(report::to_json(r.verdict)) << '\n' << std::flush;
    log->info("{}: {}; spectrogram written to {} ({} x {})", spec_file, r.verdict.decision.verdict, spec_out,
              spec.width, spec.height);
    return r.verdict.flagged() ? 1 : 0;
  }

  if (*report_cmd) {
    auto log = make_logger(err, report_log);
    try {
      html.validate();
      report_img.validate();
    } catch (const std::invalid_argument& e) {
      log->error("{}", e.what());
      return kExitUsage;
    }
    std::ifstream file;
    std::istream* in = env.in;
    if (report_in == "-") {
      html.source_name = "standard input";
      if (in == nullptr) {
        log->error("no standard input to read");
        return kExitUsage;
      }
    } else {
      file.open(report_in, std::ios::binary);
      if (!file) {
        log->error("cannot read {}", report_in);
        return kExitUsage;
      }
      in = &file;
      html.source_name = report_in;
    }
    dsp::FftCache ffts;
    const AnalysisOptions options;
    const model::Scorer& model = default_scorer();
    const report::ImageMaker images = [&](const std::string& path) -> report::Image {
      try {
        return {render::spectrogram_of_path(path, ffts, options, model, report_img).png, {}};
      } catch (const Error& e) {
        return {{}, std::string(to_string(e.code())) + ": " + e.what()};
      } catch (const std::exception& e) {
        return {{}, e.what()};
      }
    };
    report::HtmlStats st;
    if (report_out == "-") {
      st = report::write_html_report(*in, out, html, images, *log);
    } else {
      std::ofstream page(report_out, std::ios::binary | std::ios::trunc);
      if (!page) {
        log->error("cannot write {}", report_out);
        return kExitUsage;
      }
      st = report::write_html_report(*in, page, html, images, *log);
      page.close();
      if (!page) {
        log->error("cannot write {}", report_out);
        return kExitUsage;
      }
    }
    log->info("{} records, {} flagged, {} spectrograms embedded{}", st.records, st.flagged, st.images,
              st.images_capped > 0 ? fmt::format(" ({} past --max-images)", st.images_capped) : std::string());
    return 0;
  }
  return kExitUsage;
}

}  // namespace fakeless::cli
