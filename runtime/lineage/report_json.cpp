// govverify's JSON report of one verified file (report_json.h).
#include "runtime/lineage/report_json.h"

namespace gov::lineage {

nlohmann::json ReportToJson(const Report& r) {
  nlohmann::json out = {{"path", r.path},
                        {"kind", r.kind},
                        {"ok", r.failure == Failure::kNone},
                        {"log", r.log_id},
                        {"records", r.records},
                        {"certified", r.certified},
                        {"uncertified", r.uncertified},
                        {"checkpoints", r.checkpoints},
                        {"signatures_checked", r.signatures_checked},
                        {"recoveries", r.recoveries},
                        {"external_parents", r.external_parents},
                        {"runs", r.runs},
                        {"allow", r.allow},
                        {"deny", r.deny},
                        {"ask", r.ask},
                        {"incomplete", r.incomplete},
                        {"unattributed", r.unattributed},
                        {"bound", r.bound},
                        {"replayed", r.replayed},
                        {"published", r.published},
                        {"witnessed_by", r.witnessed_by}};
  if (r.kind == "bundle") {
    out["root"] = r.root;
    out["root_parent"] = r.root_parent;
  }
  if (r.failure == Failure::kNone) {
    out["failure"] = nullptr;
  } else {
    out["failure"] = {{"class", FailureName(r.failure)},
                      {"exit_code", static_cast<int>(r.failure)},
                      {"message", r.message},
                      {"line", r.failure_line},
                      {"offset", r.failure_offset}};
    out["failure"]["record"] = r.failure_seq >= 0 ? nlohmann::json(r.failure_seq) : nlohmann::json(nullptr);
  }
  return out;
}

}  // namespace gov::lineage
