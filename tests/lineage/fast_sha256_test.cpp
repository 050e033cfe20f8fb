// crypto::FastSha256 (SHA extensions) agrees with libsodium on every length around
// the block boundaries and on random data.
#include <catch2/catch.hpp>
#include <random>

#include "runtime/crypto/fast_sha256.h"

namespace gov::lineage {
namespace {

TEST_CASE("FastSha256 equals libsodium's SHA-256", "[lineage][sha256]") {
  std::mt19937 random(7);
  std::string data(5000, '\0');
  for (char& c : data) c = static_cast<char>(random());
  for (std::size_t n = 0; n <= 1100; ++n) {
    INFO("length " << n);
    REQUIRE(crypto::FastSha256(std::string_view(data).substr(0, n)) == crypto::Sha256Of(std::string_view(data).substr(0, n)));
  }
  for (int i = 0; i < 200; ++i) {
    std::size_t offset = random() % 1000, length = random() % 4000;
    std::string_view slice = std::string_view(data).substr(offset, length);
    REQUIRE(crypto::FastSha256(slice) == crypto::Sha256Of(slice));
  }
  CHECK(crypto::HexEncode(crypto::FastSha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  WARN("SHA extensions used: " << (crypto::FastSha256Accelerated() ? "yes" : "no"));
}

}  // namespace
}  // namespace gov::lineage
