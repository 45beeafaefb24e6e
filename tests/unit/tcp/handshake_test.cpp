// The handshake (runtime/src/backends/tcp/handshake.hpp): a hello round-trips, arrives in pieces,
// and every way of failing it is told apart.
#include "backends/tcp/handshake.hpp"

#include "catch.hpp"

using hilo::tcp::encode_hello;
using hilo::tcp::hello_problem;
using hilo::tcp::HelloParse;
using hilo::tcp::parse_hello;

namespace {
const std::string token(64, 'f');
}

TEST_CASE("handshake: a hello parses back to its token, rank and size") {
  const std::string hello = encode_hello(token, 3, 8);
  HelloParse p = parse_hello(hello.data(), hello.size());
  REQUIRE(p.result == HelloParse::Result::complete);
  CHECK(p.consumed == hello.size());
  CHECK(p.hello.token == token);
  CHECK(p.hello.rank == 3);
  CHECK(p.hello.size == 8);
  CHECK_FALSE(hello_problem(p.hello, token, 8).has_value());
}

TEST_CASE("handshake: a hello that arrives byte by byte needs more until complete") {
  const std::string hello = encode_hello(token, 1, 2);
  for (std::size_t n = 0; n < hello.size(); ++n)
    CHECK(parse_hello(hello.data(), n).result == HelloParse::Result::need_more);
  CHECK(parse_hello(hello.data(), hello.size()).result == HelloParse::Result::complete);
}

TEST_CASE("handshake: garbage is refused as soon as its first four bytes are in") {
  const std::string garbage = "GET / HTTP/1.1\r\n";
  HelloParse p = parse_hello(garbage.data(), 4);
  CHECK(p.result == HelloParse::Result::malformed);
  CHECK_THAT(p.why, Catch::Matchers::Contains("hilo handshake"));
}

TEST_CASE("handshake: a wrong protocol version is refused and named") {
  std::string hello = encode_hello(token, 1, 2);
  hello[4] = 7;
  HelloParse p = parse_hello(hello.data(), hello.size());
  CHECK(p.result == HelloParse::Result::malformed);
  CHECK_THAT(p.why, Catch::Matchers::Contains("protocol version 7"));
}

TEST_CASE("handshake: an absurd token length is refused before it is waited for") {
  std::string hello = encode_hello(token, 1, 2);
  hello[6] = static_cast<char>(0xff);
  hello[7] = static_cast<char>(0xff);
  HelloParse p = parse_hello(hello.data(), 8);
  CHECK(p.result == HelloParse::Result::malformed);
  CHECK_THAT(p.why, Catch::Matchers::Contains("65535"));
}

TEST_CASE("handshake: wrong token, wrong size and bad ranks are problems") {
  auto problem = [](const std::string& hello_token, int rank, int size) {
    std::string hello = encode_hello(hello_token, rank, size);
    auto p = parse_hello(hello.data(), hello.size());
    REQUIRE(p.result == HelloParse::Result::complete);
    return hello_problem(p.hello, token, 4).value_or("none");
  };
  CHECK_THAT(problem(std::string(64, 'e'), 1, 4), Catch::Matchers::Contains("wrong job token"));
  CHECK_THAT(problem(token.substr(1), 1, 4), Catch::Matchers::Contains("wrong job token"));
  CHECK_THAT(problem(token, 1, 5), Catch::Matchers::Contains("job of 5 ranks"));
  CHECK_THAT(problem(token, 4, 4), Catch::Matchers::Contains("out of range"));
  CHECK_THAT(problem(token, -1, 4), Catch::Matchers::Contains("out of range"));
  CHECK(problem(token, 2, 4) == "none");
}

TEST_CASE("handshake: a reader asks for exactly the bytes that complete the hello") {
  const std::string hello = encode_hello(token, 1, 2);
  CHECK(hilo::tcp::hello_bytes_missing(hello.data(), 0) == 8);
  CHECK(hilo::tcp::hello_bytes_missing(hello.data(), 5) == 3);
  CHECK(hilo::tcp::hello_bytes_missing(hello.data(), 8) == hello.size() - 8);
  CHECK(hilo::tcp::hello_bytes_missing(hello.data(), hello.size()) == 0);
  const std::string with_frame_after = hello + "first frame bytes";
  CHECK(hilo::tcp::hello_bytes_missing(with_frame_after.data(), hello.size()) == 0);
}
