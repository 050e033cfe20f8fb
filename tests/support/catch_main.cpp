// The main of every test binary that needs no main of its own (unit,
// lineage, parse); Catch2's implementation is in catch_impl.cpp.
#include "tests/support/catch_run.h"

int main(int argc, char* argv[]) { return gov_test::RunCatch(argc, argv); }
