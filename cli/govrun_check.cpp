// govrun --check's JSON document (cli/govrun_check.h).
#include "cli/govrun_check.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "runtime/abi/gov_abi.h"
#include "runtime/lineage/log_io.h"
#include "runtime/request/byte_string.h"

namespace gov::govrun {
namespace {

std::string_view View(gov_str text) {
  return {text.data, static_cast<std::size_t>(text.size)};
}

nlohmann::json RulesJson(const std::vector<interp::ExplainedRule>& rules) {
  nlohmann::json out = nlohmann::json::array();
  for (const interp::ExplainedRule& rule : rules) {
    out.push_back({{"id", rule.id},
                   {"name", request::BytesToJson(rule.name)},
                   {"verdict", interp::VerdictName(static_cast<std::uint32_t>(rule.verdict))},
                   {"reason", request::BytesToJson(rule.reason)}});
  }
  return out;
}

}  // namespace

std::string CheckJson(const bundle::LoadedPolicy& policy, const request::Request& request, const exec::Program& program,
                      const interp::Explanation& explanation, const ir::Obligations& obligations,
                      const CheckReport& report) {
  using nlohmann::json;
  using request::BytesToJson;
  json out = json::object();
  out["version"] = 1;
  out["verdict"] = explanation.verdict;
  out["error"] = explanation.error.empty() ? json(nullptr) : json(explanation.error);
  out["summary"] = BytesToJson(explanation.summary);
  out["outcome"] = report.outcome;
  out["exit_code"] = report.exit_code;
  out["rules"] = RulesJson(explanation.rules);
  out["obligation_rules"] = RulesJson(explanation.obligation_rules);
  out["obligations"] = lineage::ObligationsToJson(obligations);
  if (!report.planned) {
    out["enforcement"] = nullptr;
  } else {
    json limits = json::array();
    for (const lineage::EnforcedLimit& limit : report.limits) {
      limits.push_back({{"obligation", limit.obligation},
                        {"mechanism", BytesToJson(limit.mechanism)},
                        {"value", BytesToJson(limit.value)}});
    }
    out["enforcement"] = {{"enforceable", report.enforceable},
                          {"failure", report.enforceable ? json(nullptr) : BytesToJson(report.failure)},
                          {"limits", limits}};
  }
  // The program fields as the policy saw them (normalized, names derived).
  const request::RequestView view(request);
  const gov_request& seen = view.get();
  json& shown_program = out["program"];
  shown_program["path"] = BytesToJson(View(seen.program_path));
  shown_program["name"] = BytesToJson(View(seen.program_name));
  shown_program["sha256"] = BytesToJson(View(seen.program_sha256));
  shown_program["written_in_session"] = seen.program_written_in_session != 0;
  shown_program["invoked_path"] = BytesToJson(View(seen.invoked_path));
  shown_program["invoked_name"] = BytesToJson(View(seen.invoked_name));
  shown_program["argv0"] = BytesToJson(View(seen.argv0));
  out["interpreter"] = program.is_script ? json{{"path", BytesToJson(program.interpreter.path)},
                                                {"sha256", BytesToJson(program.interpreter.sha256)}}
                                         : json(nullptr);
  const ir::EnvReads& reads = policy.view().env_reads();
  request::Request shown = request;
  std::vector<std::string> withheld;
  shown.env.clear();
  for (const auto& entry : request.env) {
    if (reads.all || std::binary_search(reads.names.begin(), reads.names.end(), entry.first)) {
      shown.env.push_back(entry);
    } else {
      withheld.push_back(entry.first);
    }
  }
  std::sort(withheld.begin(), withheld.end());
  withheld.erase(std::unique(withheld.begin(), withheld.end()), withheld.end());
  out["request"] = json::parse(request::RequestToJson(shown, policy.view().context()));
  json withheld_json = json::array();
  for (const std::string& name : withheld) {
    withheld_json.push_back(BytesToJson(name));
  }
  out["env_withheld"] = withheld_json;
  out["policy"] = {{"name", BytesToJson(policy.manifest().policy_name)},
                   {"version", BytesToJson(policy.manifest().policy_version)},
                   {"digest", policy.digest()},
                   {"engine", policy.engine()}};
  json notices = json::array();
  for (const std::string& notice : report.notices) {
    notices.push_back(BytesToJson(notice));
  }
  out["notices"] = notices;
  return out.dump(2, ' ', false, json::error_handler_t::strict) + "\n";
}

}  // namespace gov::govrun
