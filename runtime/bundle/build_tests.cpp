// The TESTS extension section's payload (docs/bundle-format.md "TESTS").
#include "runtime/bundle/build_tests.h"

#include <nlohmann/json.hpp>

namespace gov::bundle {

using Json = nlohmann::json;

std::string BuildTestsToJson(const BuildTests& tests) {
  // nlohmann's object keeps keys sorted and dump() writes no whitespace.
  const Json value = {{"cases", tests.cases},
                      {"engine", tests.engine},
                      {"exercised", tests.exercised},
                      {"rules", tests.rules}};
  return value.dump(-1, ' ', false, Json::error_handler_t::strict);
}

ErrorOr<BuildTests> ParseBuildTests(std::string_view payload) {
  const Json value = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object() || value.size() != 4 || !value.contains("cases") || !value.contains("engine") ||
      !value.contains("exercised") || !value.contains("rules")) {
    return Error{"the TESTS section is not an object of cases, engine, exercised and rules"};
  }
  if (!value["cases"].is_number_unsigned() || !value["rules"].is_number_unsigned() || !value["engine"].is_string() ||
      !value["exercised"].is_array()) {
    return Error{"the TESTS section has a member of the wrong type"};
  }
  BuildTests tests;
  tests.cases = value["cases"].get<std::uint64_t>();
  tests.rules = value["rules"].get<std::uint64_t>();
  tests.engine = value["engine"].get<std::string>();
  for (const Json& id : value["exercised"]) {
    if (!id.is_number_unsigned() || id.get<std::uint64_t>() >= tests.rules ||
        (!tests.exercised.empty() && id.get<std::uint64_t>() <= tests.exercised.back())) {
      return Error{"the TESTS section's exercised rules are not ascending rule ids below its rule count"};
    }
    tests.exercised.push_back(id.get<std::uint32_t>());
  }
  if (BuildTestsToJson(tests) != payload) return Error{"the TESTS section is not canonical JSON"};
  return tests;
}

}  // namespace gov::bundle
