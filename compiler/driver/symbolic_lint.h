// The lints that need the symbolic analysis (compiler/analysis): rule
// conditions no request satisfies (GOV3006) and allows a deny overrides on
// every request they match (GOV3008), found through functions, patterns,
// paths and sets rather than only as written (docs/lint.md). A finding is a
// proof: the analysis found no request, with the tests it does not model
// free to take any value.
#pragma once

#include "compiler/driver/driver.h"
#include "compiler/lint/lint.h"

namespace gov::driver {

// Adds the findings for `c`'s entry module (which must type-check) to its
// diagnostics, at `config`'s levels, skipping rules a structural lint of the
// same code already reported.
void SymbolicLints(Compilation& c, const lint::Config& config);

}  // namespace gov::driver
