// crypto::FastSha256 (SHA extensions) agrees with libsodium on every length around
// the block boundaries and on random data.
#include "runtime/crypto/fast_sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

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

TEST_CASE("FastSha256Batch equals SHA-256 of each message, of any lengths in any order", "[lineage][sha256]") {
  std::mt19937 random(13);
  std::string data(3000, '\0');
  for (char& c : data) c = static_cast<char>(random());
  const std::string_view all(data);
  const auto check = [](const std::vector<std::string_view>& messages) {
    std::vector<crypto::Sha256Digest> digests(messages.size());
    crypto::FastSha256Batch(messages, digests);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      INFO("message " << i << " of " << messages.size() << ", length " << messages[i].size());
      REQUIRE(digests[i] == crypto::Sha256Of(messages[i]));
    }
  };
  check({});
  check({all.substr(0, 3)});
  // Pairs of lengths around the one- and two-block tails and a few blocks apart, both orders.
  for (std::size_t a = 0; a <= 200; ++a) {
    for (std::size_t b : {0u, 1u, 55u, 56u, 63u, 64u, 119u, 120u, 128u, 129u, 200u}) {
      check({all.substr(7, a), all.substr(1000, b)});
      check({all.substr(1000, b), all.substr(7, a), all.substr(3, b)});
    }
  }
  // Long batches of random lengths: lanes refill at different times.
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string_view> messages;
    const std::size_t count = random() % 50;
    for (std::size_t i = 0; i < count; ++i) messages.push_back(all.substr(random() % 1000, random() % 2000));
    check(messages);
  }
}

TEST_CASE("FastSha256OfFd equals Sha256OfFd and leaves the offset alone", "[lineage][sha256]") {
  std::mt19937 random(11);
  std::string path = "/tmp/gov_fast_sha256_XXXXXX";
  int fd = ::mkstemp(path.data());
  REQUIRE(fd >= 0);
  ::unlink(path.c_str());
  std::string data;
  // Lengths around the block size and across the 64 KiB read chunk.
  for (std::size_t target : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 65535u, 65536u, 65537u, 65536u + 63u, 200000u}) {
    while (data.size() < target) data.push_back(static_cast<char>(random()));
    REQUIRE(::ftruncate(fd, 0) == 0);
    REQUIRE(::pwrite(fd, data.data(), target, 0) == static_cast<ssize_t>(target));
    REQUIRE(::lseek(fd, 7, SEEK_SET) == 7);
    INFO("length " << target);
    auto fast = crypto::FastSha256OfFd(fd);
    auto reference = crypto::Sha256OfFd(fd);
    REQUIRE(fast.ok());
    REQUIRE(reference.ok());
    CHECK(fast.value() == reference.value());
    CHECK(fast.value() == crypto::Sha256Of(std::string_view(data).substr(0, target)));
    CHECK(::lseek(fd, 0, SEEK_CUR) == 7);
  }
  ::close(fd);
}

}  // namespace
}  // namespace gov::lineage
