// Lowercase hex, as vector files spell byte strings.
#ifndef REFLEX_BASE_HEX_H_
#define REFLEX_BASE_HEX_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::testing {

// False on odd length or a character outside [0-9a-fA-F].
bool TryFromHex(std::string_view hex, std::vector<uint8_t>* out);

// Aborts on bad input: for literals in tests.
std::vector<uint8_t> FromHex(std::string_view hex);

std::string ToHex(std::span<const uint8_t> bytes);

}  // namespace reflex::testing

#endif  // REFLEX_BASE_HEX_H_
