// Catch2's implementation and main, compiled once for every test binary
// that needs no main of its own (unit, lineage, parse).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
