// Runs the Catch2 session of a test binary (tests/support/catch_impl.cpp,
// where Catch2's implementation and its Session class live).
#pragma once

namespace gov_test {

int RunCatch(int argc, char* argv[]);

}  // namespace gov_test
