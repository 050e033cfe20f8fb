// Validates JSON documents against the JSON Schemas of docs/schemas with Ajv
// (tests/node/validate_json_schema.js, its npm packages installed by ./gov.sh
// under build/node), for tests of gov's machine-readable outputs and inputs.
// Needs GOV_SOURCE_DIR.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gov::testing {

struct SchemaCheck {
  int status = -1;     // 0 valid (or every schema compiles), 1 invalid, 2 usage or I/O error
  std::string output;  // the validator's stdout and stderr
};

// Runs the validator with `arguments` (already quoted for the shell).
inline SchemaCheck RunSchemaValidator(const std::string& arguments) {
  const std::string source = GOV_SOURCE_DIR;
  const std::string modules = source + "/build/node/node_modules";
  INFO("Ajv is installed by ./gov.sh deps (or test) under " << modules);
  REQUIRE(std::filesystem::exists(modules + "/ajv/dist/2020.js"));
  const std::string command = "cd '" + source + "' && env NODE_PATH='" + modules +
                              "' node tests/node/validate_json_schema.js " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  SchemaCheck check;
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) check.output.append(buffer.data(), n);
  const int raw = ::pclose(pipe);
  check.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return check;
}

// Validates `document` (JSON text) against docs/schemas/`schema`.
inline SchemaCheck ValidateJsonSchema(const std::string& schema, const std::string& document) {
  static int counter = 0;
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      ("gov_schema_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".json");
  std::ofstream(file, std::ios::binary) << document;
  SchemaCheck check =
      RunSchemaValidator("'" + std::string(GOV_SOURCE_DIR) + "/docs/schemas/" + schema + "' '" + file.string() + "'");
  std::filesystem::remove(file);
  return check;
}

// Expects `document` (JSON text) to be valid against docs/schemas/`schema`.
inline void ExpectValidJson(const std::string& schema, const std::string& document) {
  const SchemaCheck check = ValidateJsonSchema(schema, document);
  INFO(schema << ":\n" << check.output << "document:\n" << document);
  CHECK(check.status == 0);
}

// Expects `document` to be invalid against `schema` (not a validator error);
// `what` names the mutation that should make it so.
inline void ExpectInvalidJson(const std::string& schema, const nlohmann::json& document, const std::string& what) {
  const SchemaCheck check = ValidateJsonSchema(schema, document.dump());
  INFO(schema << ", mutation: " << what << "\n" << check.output);
  CHECK(check.status == 1);
}

// Parses the whole of `text` as one JSON document (trailing text fails).
inline nlohmann::json ParseOneJson(const std::string& text) {
  INFO("stdout: " << text);
  REQUIRE(nlohmann::json::accept(text));
  return nlohmann::json::parse(text);
}

}  // namespace gov::testing
