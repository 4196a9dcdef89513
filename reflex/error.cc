#include "reflex/error.h"

#include <array>
#include <utility>

namespace reflex {
namespace {

constexpr std::array<std::pair<Error, std::string_view>, 26> kNames = {{
    {Error::kOk, "ok"},
    {Error::kTooShort, "too_short"},
    {Error::kTrailingBytes, "trailing_bytes"},
    {Error::kBadMagic, "bad_magic"},
    {Error::kBadLength, "bad_length"},
    {Error::kFrameTooLarge, "frame_too_large"},
    {Error::kEmptyPlaintext, "empty_plaintext"},
    {Error::kUnknownFrameType, "unknown_frame_type"},
    {Error::kBadAddressType, "bad_address_type"},
    {Error::kBadDomainLength, "bad_domain_length"},
    {Error::kFrameAfterClose, "frame_after_close"},
    {Error::kBadReserved, "bad_reserved"},
    {Error::kBadShape, "bad_shape"},
    {Error::kAuthFailed, "auth_failed"},
    {Error::kLowOrderPoint, "low_order_point"},
    {Error::kUnknownUser, "unknown_user"},
    {Error::kTimestampOutOfWindow, "timestamp_out_of_window"},
    {Error::kReplayedHello, "replayed_hello"},
    {Error::kCounterExhausted, "counter_exhausted"},
    {Error::kHandshakeTimeout, "handshake_timeout"},
    {Error::kClosed, "closed"},
    {Error::kBufferTooSmall, "buffer_too_small"},
    {Error::kAllocFailed, "alloc_failed"},
    {Error::kInvalidArgument, "invalid_argument"},
    {Error::kCryptoInitFailed, "crypto_init_failed"},
    {Error::kReplayStoreUnavailable, "replay_store_unavailable"},
}};

}  // namespace

std::string_view ErrorName(Error e) {
  for (const auto& [code, name] : kNames) {
    if (code == e) return name;
  }
  return "unknown_error";
}

bool ErrorFromName(std::string_view name, Error* out) {
  for (const auto& [code, n] : kNames) {
    if (n == name) {
      *out = code;
      return true;
    }
  }
  return false;
}

std::string_view ErrorClass(Error e) {
  const auto v = static_cast<uint8_t>(e);
  if (v == 0) return "ok";
  if (v < 32) return "malformed_input";
  if (v < 48) return "cryptographic";
  if (v < 64) return "state";
  if (v < 80) return "caller";
  return "environment";
}

}  // namespace reflex
