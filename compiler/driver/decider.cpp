// govc's deciding function and obligation rendering (decider.h).
#include "compiler/driver/decider.h"

#include <fmt/format.h>

#include "compiler/format/format.h"

namespace gov::driver {

ErrorOr<std::unique_ptr<Decider>> Decider::Create(const ir::Policy& policy, bool interp) {
  auto decider = std::unique_ptr<Decider>(new Decider());
  GOV_ASSIGN_OR_RETURN(interp::PreparedPolicy prepared, interp::PreparedPolicy::Create(policy));
  decider->prepared_ = std::make_unique<interp::PreparedPolicy>(std::move(prepared));
  if (!interp) {
    codegen::Options options;
    options.link_image = false;
    options.cpu = "host";
    GOV_ASSIGN_OR_RETURN(decider->jit_, codegen::JitPolicy::Compile(policy, options));
  }
  return decider;
}

ErrorOr<void> Decider::Decide(const gov_request& request, gov_decision& decision) const {
  interp::Decide(*prepared_, request, decision);
  if (jit_ == nullptr) return {};
  gov_decision native{};
  jit_->Decide(request, native);
  if (!interp::SameDecision(native, decision)) {
    return Error{"internal error: native code and the IR interpreter disagree on this request; please report it"};
  }
  decision = native;
  return {};
}

namespace {

// `["a", "b"]` with each item a quoted string literal.
std::string QuotedList(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) {
    text += (text.empty() ? "" : ", ") + format::Quote(item);
  }
  return "[" + text + "]";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DescribeObligations(const ir::Obligations& o) {
  std::vector<std::pair<std::string, std::string>> out;
  if (o.timeout_ms != 0) out.emplace_back("timeout", ir::FormatDuration(o.timeout_ms));
  if (o.memory_bytes != 0) out.emplace_back("memory", ir::FormatSize(o.memory_bytes));
  if (o.processes != 0) out.emplace_back("processes", std::to_string(o.processes));
  if (o.network != ir::Network::kUnset) out.emplace_back("network", ir::NetworkName(o.network));
  if (o.has_read) out.emplace_back("read", QuotedList(o.read));
  if (o.has_write) out.emplace_back("write", QuotedList(o.write));
  if (o.has_create) out.emplace_back("create", QuotedList(o.create));
  if (o.private_tmp) out.emplace_back("tmp", "private");
  if (o.has_env) out.emplace_back("env", QuotedList(o.env));
  if (o.has_capabilities) out.emplace_back("capabilities", QuotedList(o.capabilities));
  return out;
}

std::string ObligationsText(const ir::Obligations& obligations) {
  std::string text;
  for (const auto& [key, value] : DescribeObligations(obligations)) {
    text += (text.empty() ? "" : ", ") + key + " = " + value;
  }
  return text.empty() ? "{}" : "{ " + text + " }";
}

nlohmann::json ObligationsJson(const ir::Obligations& o) {
  nlohmann::json json = nlohmann::json::object();
  if (o.timeout_ms != 0) json["timeout_ms"] = o.timeout_ms;
  if (o.memory_bytes != 0) json["memory_bytes"] = o.memory_bytes;
  if (o.processes != 0) json["processes"] = o.processes;
  if (o.network != ir::Network::kUnset) json["network"] = ir::NetworkName(o.network);
  if (o.has_read) json["read"] = o.read;
  if (o.has_write) json["write"] = o.write;
  if (o.has_create) json["create"] = o.create;
  if (o.private_tmp) json["tmp"] = "private";
  if (o.has_env) json["env"] = o.env;
  if (o.has_capabilities) json["capabilities"] = o.capabilities;
  return json;
}

}  // namespace gov::driver
