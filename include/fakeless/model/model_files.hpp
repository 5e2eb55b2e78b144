#pragma once
// What every trained model shares around its format: reading its file, the short digest
// that versions it in verdicts and cache keys, and finding the newest one compiled in.
#include <optional>
#include <string>
#include <string_view>

#include "fakeless/model/trees.hpp"  // EmbeddedFile, embedded_files()

namespace fakeless::model {

// The whole file; nullopt when it cannot be read (each model's loader words the error).
std::optional<std::string> read_model_file(const std::string& path);

// 8 hex digits of the text's FNV-1a 64 hash: a retrained model under the same name is a
// different version.
std::string model_digest(std::string_view text);

// The compiled-in "<prefix>*.json" with the greatest name (tree-v2 over tree-v1); nullptr
// when there is none.
const EmbeddedFile* newest_embedded_model(std::string_view prefix);

}  // namespace fakeless::model
