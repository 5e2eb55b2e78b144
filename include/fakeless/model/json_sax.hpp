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
#include <string_view>

#include <nlohmann/json.hpp>

namespace fakeless::model {

bool sax_parse(std::string_view text, nlohmann::json_sax<nlohmann::json>& sax);

}  // namespace fakeless::model
