// optidiff/feedback/token.hpp: unguessable identifiers for the ranking service.
//
// A user token is 128 bits from the kernel's CSPRNG (getrandom(2)), written as 32 hex digits; the
// store keeps only its SHA-256, so a leaked database does not let anyone answer another person's
// session. Session ids are 64 random bits (16 hex digits): not secret (every request also needs the
// owner's token) but not enumerable either.
#pragma once

#include <string>
#include <string_view>

namespace optidiff::feedback {

std::string random_hex(
    int bytes);  // 2 * bytes hex digits; throws kUnavailable if the kernel cannot
inline std::string new_token() { return random_hex(16); }
inline std::string new_session_id() { return random_hex(8); }
std::string sha256_hex(std::string_view text);  // 64 lowercase hex digits
bool is_hex(std::string_view text, std::size_t length);
// Compares without an early exit, so response times do not reveal how much of a hash matched.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace optidiff::feedback
