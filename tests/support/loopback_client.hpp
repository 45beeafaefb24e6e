// A raw TCP client on loopback for tests that play a misbehaving peer (garbage, wrong token,
// absurd lengths) against hilo's listeners. The fd closes itself even when a check fails.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "catch.hpp"
#include "common/unique_fd.hpp"

inline hilo::common::UniqueFd raw_connect(std::uint16_t port) {
  hilo::common::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}
