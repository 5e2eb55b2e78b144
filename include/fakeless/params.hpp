#pragma once
// Parameters are declared once, with units in their names, defaults and valid ranges next
// to them; validate() functions reject a value out of range with a message naming it.
#include <stdexcept>
#include <string>

namespace fakeless {

// Throws std::invalid_argument("<group> parameter <name> out of range: <value>") unless ok.
inline void require_param(bool ok, const char* group, const char* name, double value) {
  if (!ok) {
    throw std::invalid_argument(std::string(group) + " parameter " + name + " out of range: " + std::to_string(value));
  }
}

}  // namespace fakeless
