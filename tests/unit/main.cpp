// Catch2 entry point for gov's unit tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
