// Catch2's implementation (without a main), compiled once for every test
// binary: the single heaviest translation unit of the tests. Suites without a
// main of their own link gov_catch_main (catch_main.cpp); govrun_tests has its
// own main (its helper modes) and calls RunCatch itself.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/support/catch_run.h"

int gov_test::RunCatch(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
