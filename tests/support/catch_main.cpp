// Catch2 2.x needs its main compiled in exactly one translation unit; every unit test links it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
