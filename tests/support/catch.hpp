// One include for tests that works with Catch2 2.x (Debian 12) and Catch2 3.
#pragma once
#if defined(HILO_CATCH3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
