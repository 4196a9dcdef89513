// Error codes are part of the spec: their names and numbers never change.
#include "reflex/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace reflex {
namespace {

struct Code {
  Error error;
  int number;
  const char* name;
  const char* error_class;
};

constexpr Code kSpec[] = {
    {Error::kOk, 0, "ok", "ok"},
    {Error::kTooShort, 1, "too_short", "malformed_input"},
    {Error::kTrailingBytes, 2, "trailing_bytes", "malformed_input"},
    {Error::kBadMagic, 3, "bad_magic", "malformed_input"},
    {Error::kBadLength, 4, "bad_length", "malformed_input"},
    {Error::kFrameTooLarge, 5, "frame_too_large", "malformed_input"},
    {Error::kEmptyPlaintext, 6, "empty_plaintext", "malformed_input"},
    {Error::kUnknownFrameType, 7, "unknown_frame_type", "malformed_input"},
    {Error::kBadAddressType, 8, "bad_address_type", "malformed_input"},
    {Error::kBadDomainLength, 9, "bad_domain_length", "malformed_input"},
    {Error::kFrameAfterClose, 10, "frame_after_close", "malformed_input"},
    {Error::kBadReserved, 11, "bad_reserved", "malformed_input"},
    {Error::kBadShape, 12, "bad_shape", "malformed_input"},
    {Error::kAuthFailed, 32, "auth_failed", "cryptographic"},
    {Error::kLowOrderPoint, 33, "low_order_point", "cryptographic"},
    {Error::kUnknownUser, 34, "unknown_user", "cryptographic"},
    {Error::kTimestampOutOfWindow, 35, "timestamp_out_of_window", "cryptographic"},
    {Error::kReplayedHello, 36, "replayed_hello", "cryptographic"},
    {Error::kCounterExhausted, 48, "counter_exhausted", "state"},
    {Error::kHandshakeTimeout, 49, "handshake_timeout", "state"},
    {Error::kClosed, 50, "closed", "state"},
    {Error::kBufferTooSmall, 64, "buffer_too_small", "caller"},
    {Error::kAllocFailed, 65, "alloc_failed", "caller"},
    {Error::kInvalidArgument, 66, "invalid_argument", "caller"},
    {Error::kCryptoInitFailed, 80, "crypto_init_failed", "environment"},
    {Error::kReplayStoreUnavailable, 81, "replay_store_unavailable", "environment"},
};

TEST(ErrorCodes, NamesNumbersAndClassesAreThoseOfTheSpec) {
  for (const Code& c : kSpec) {
    EXPECT_EQ(static_cast<int>(c.error), c.number) << c.name;
    EXPECT_EQ(ErrorName(c.error), c.name);
    EXPECT_EQ(ErrorClass(c.error), c.error_class) << c.name;
    Error parsed;
    ASSERT_TRUE(ErrorFromName(c.name, &parsed)) << c.name;
    EXPECT_EQ(parsed, c.error);
  }
}

TEST(ErrorCodes, EveryOtherNumberAndNameIsUnknown) {
  std::set<int> known;
  for (const Code& c : kSpec) known.insert(c.number);
  for (int n = 0; n < 256; ++n) {
    if (!known.count(n)) {
      EXPECT_EQ(ErrorName(static_cast<Error>(n)), "unknown_error") << n;
    }
  }
  Error e = Error::kAuthFailed;
  EXPECT_FALSE(ErrorFromName("unknown_error", &e));
  EXPECT_FALSE(ErrorFromName("Auth_Failed", &e));
  EXPECT_FALSE(ErrorFromName("", &e));
  EXPECT_EQ(e, Error::kAuthFailed);
}

}  // namespace
}  // namespace reflex
