#pragma once
// A JSON reader that drives nlohmann's SAX interface, for the model files: the embedded
// trees (1.5 MB of numbers) and CNN weights took ~30 ms of every run to read with
// nlohmann::json::sax_parse, most of it in its lexer's per-character string building and
// strtod. This one scans a string_view in place and converts numbers with std::from_chars
// (correctly rounded, as strtod): the same events with the same values, 5 to 10 times faster.
//
// The events are those nlohmann's parser sends for the same text (a test replays both):
//  - an integer without fraction or exponent: number_unsigned when not negative,
//    number_integer when negative, number_float when out of 64-bit range;
//  - any other number: number_float (its text as the second argument); one that overflows
//    a double is an error (nlohmann: "number overflow"), one that underflows reads as 0;
//  - start_object / start_array with std::size_t(-1) (size unknown);
//  - strings (keys and values) unescaped, \uXXXX pairs joined to UTF-8; control characters
//    and malformed UTF-8 are errors.
// An error calls parse_error(byte offset, token, exception) once and returns false; a
// handler returning false stops the parse, which then returns false.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace fakeless::model {

bool sax_parse(std::string_view text, nlohmann::json_sax<nlohmann::json>& sax);

// What the model readers (trees, CNN) share: a SAX handler that builds an ordinary json value
// (`root`) of a model file's small parts (names, shapes, settings) while the reader sends
// its large numeric arrays elsewhere, and keeps the first error. A reader calls scalar() and
// open() for the events it does not capture, close() at the end of a container it opened,
// and fail() to stop the parse with a reason.
class SmallTreeSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  nlohmann::json root;
  std::string error;  // the first failure; empty when the parse succeeded

  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& e) override;

 protected:
  std::vector<nlohmann::json*> stack_;  // the open containers of the small tree
  std::vector<std::string> names_;      // the key each was stored under ("" in an array)
  std::string key_;                     // the last key read

  bool fail(const std::string& why);
  // v into the innermost open container (under key_ in an object), or as the root.
  nlohmann::json* place(nlohmann::json&& v);
  bool scalar(nlohmann::json&& v);
  bool open(nlohmann::json&& v);  // an object or array, placed and made the innermost
  bool close();
};

}  // namespace fakeless::model
