#include <hilo/comm/detail/transport.hpp>

#include <set>

#include "catch.hpp"

using hilo::Sink;

TEST_CASE("sink_mismatch accepts what fits") {
  int value = 0;
  Sink fixed{hilo::data_type_of<int>(), &value, sizeof value, {}};
  CHECK(hilo::sink_mismatch(fixed, hilo::data_type_of<int>(), 4).empty());
  Sink growing{hilo::data_type_of<double>(), nullptr, 0,
               [](std::size_t) -> void* { return nullptr; }};
  CHECK(hilo::sink_mismatch(growing, hilo::data_type_of<double>(), 0).empty());
  CHECK(hilo::sink_mismatch(growing, hilo::data_type_of<double>(), 24).empty());
}

TEST_CASE("sink_mismatch names sizes and types of what does not fit") {
  int value = 0;
  Sink fixed{hilo::data_type_of<int>(), &value, sizeof value, {}};
  std::string why = hilo::sink_mismatch(fixed, hilo::data_type_of<int>(), 3);
  CHECK(why.find("3 bytes") != std::string::npos);
  CHECK(why.find("exactly 4 bytes") != std::string::npos);
  why = hilo::sink_mismatch(fixed, hilo::data_type_of<float>(), 4);
  CHECK(why.find("float32") != std::string::npos);
  CHECK(why.find("int32") != std::string::npos);
  Sink growing{hilo::data_type_of<double>(), nullptr, 0,
               [](std::size_t) -> void* { return nullptr; }};
  why = hilo::sink_mismatch(growing, hilo::data_type_of<double>(), 12);
  CHECK(why.find("not a whole number of 8-byte elements") != std::string::npos);
}

TEST_CASE("derive_context is deterministic and spreads") {
  CHECK(hilo::derive_context(0, 0, 1) == hilo::derive_context(0, 0, 1));
  std::set<std::uint64_t> seen;
  for (std::uint64_t parent : {0ull, 1ull, 99ull})
    for (std::uint64_t sequence = 0; sequence < 50; ++sequence)
      for (std::uint64_t color = 0; color < 20; ++color)
        seen.insert(hilo::derive_context(parent, sequence, color));
  CHECK(seen.size() == 3 * 50 * 20);
}
