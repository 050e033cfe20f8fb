// govverify's JSON report of one verified file (docs/govverify.md "Output"):
// shared by govverify, its list/show commands, the proof viewer and the
// console.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/lineage/verify.h"

namespace gov::lineage {

// The report as one entry of govverify's JSON "results".
nlohmann::json ReportToJson(const Report& report);

}  // namespace gov::lineage
