#include "fakeless/model/model_files.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace fakeless::model {

std::optional<std::string> read_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

std::string model_digest(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (const unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex, 8);
}

const EmbeddedFile* newest_embedded_model(std::string_view prefix) {
  const EmbeddedFile* best = nullptr;
  for (const auto& f : embedded_files()) {
    const bool json = f.name.size() > 5 && f.name.substr(f.name.size() - 5) == ".json";
    if (json && f.name.substr(0, prefix.size()) == prefix && (best == nullptr || f.name > best->name)) best = &f;
  }
  return best;
}

}  // namespace fakeless::model
