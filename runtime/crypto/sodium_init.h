// Internal to runtime/crypto: one-time libsodium initialization.
#pragma once

namespace gov::crypto::internal {

// Calls sodium_init() once (thread-safe); returns false if libsodium could not
// be initialized (then no key may be generated).
bool EnsureSodium();

}  // namespace gov::crypto::internal
