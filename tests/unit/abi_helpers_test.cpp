// gov_helpers.arg_read's table cache: inside an abi::CodeImageScope a command
// table is known by its address, and only within the image that scope names.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "runtime/abi/helpers.h"
#include "runtime/argparse/command.h"
#include "runtime/ir/serialize.h"

namespace gov::abi::helpers_test {
namespace {

// A grammar of one flag, `force`, spelled `-LETTER`.
std::string FlagTable(const char* letter) {
  argparse::CommandField force;
  force.name = "force";
  force.role = argparse::FieldRole::kFlag;
  force.shorts = letter;
  argparse::Command command;
  command.name = "tool";
  command.top.fields = {force};
  return ir::EncodeCommand(command);
}

// Whether `arguments` parse under the table at `table` (its bytes now).
bool Parses(const std::string& table, const std::vector<std::string>& arguments) {
  std::vector<gov_str> items;
  for (const std::string& a : arguments) items.push_back(gov_str{a.data(), a.size()});
  char out[256];
  gov_arg_result result{};
  const std::int64_t used = DefaultHelpers()->arg_read(table.data(), table.size(), GOV_ARG_PARSES, 0, items.data(),
                                                       items.size(), "/", 1, out, sizeof out, &result);
  REQUIRE(used == 0);
  REQUIRE(result.present == 1);
  return result.number == 1;
}

TEST_CASE("arg_read: a table known by its address in one image is read anew in another at that address",
          "[abi][argparse]") {
  const std::string f = FlagTable("f");
  const std::string g = FlagTable("g");
  REQUIRE(f.size() == g.size());
  REQUIRE(f != g);
  std::string mapped = f;  // one address, as two images mapped there in turn
  {
    CodeImageScope first(NewCodeImageId());
    CHECK(Parses(mapped, {"-f"}));
    CHECK(Parses(mapped, {"-f"}));  // by address now
    CHECK_FALSE(Parses(mapped, {"-g"}));
  }
  mapped.replace(0, g.size(), g);
  {
    CodeImageScope second(NewCodeImageId());
    CHECK_FALSE(Parses(mapped, {"-f"}));
    CHECK(Parses(mapped, {"-g"}));
  }
  // Outside a scope the bytes decide.
  mapped.replace(0, f.size(), f);
  CHECK(Parses(mapped, {"-f"}));
  CHECK_FALSE(Parses(mapped, {"-g"}));
}

TEST_CASE("code image identities are never 0 and never repeat", "[abi]") {
  const std::uint64_t a = NewCodeImageId();
  const std::uint64_t b = NewCodeImageId();
  CHECK(a != 0);
  CHECK(b != 0);
  CHECK(a != b);
}

TEST_CASE("command tables: `options persistent` survives encoding, an unknown style byte is refused",
          "[abi][argparse]") {
  argparse::CommandField verbose;
  verbose.name = "verbose";
  verbose.shorts = "v";
  argparse::CommandScope install;
  install.name = "install";
  argparse::Command command;
  command.name = "tool";
  command.top.options_persistent = true;
  command.top.fields = {verbose};
  command.subcommands = {install};
  for (const argparse::Style style : {argparse::Style::kGnu, argparse::Style::kPosix}) {
    command.top.style = style;
    const std::string bytes = ir::EncodeCommand(command);
    auto decoded = ir::DecodeCommand(bytes);
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == command);
    // The top scope's style byte follows the command's name and the scope's empty name.
    const std::size_t at = 1 + command.name.size() + 1;
    REQUIRE(static_cast<unsigned char>(bytes[at]) == 4 + static_cast<unsigned>(style));
    std::string unknown = bytes;
    unknown[at] = 6;
    CHECK(!ir::DecodeCommand(unknown).ok());
  }
}

}  // namespace
}  // namespace gov::abi::helpers_test
