// Value types the conformance cases send: a plain struct (raw bytes), a user type with a
// Boost serialize member (hilo's archive) and one holding shared pointers (Boost's archive).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/serialization/map.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "hilo/comm/detail/codec.hpp"

namespace conformance {

struct Particle {  // trivially copyable: travels as its bytes
  int id;
  double position[3];
  char tag[3];
  friend bool operator==(const Particle&, const Particle&) = default;
};

struct Order {  // has strings and a vector: travels as a Boost archive
  std::string customer;
  std::vector<std::string> items;
  std::map<std::string, int> quantities;
  double total = 0;
  friend bool operator==(const Order&, const Order&) = default;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& customer& items& quantities& total;
  }
};

struct Chain {  // shares one node twice: needs Boost's archive (object tracking)
  std::vector<std::shared_ptr<Order>> links;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& links;
  }
};

inline Order make_order(int seed) {
  Order o;
  o.customer = "customer-" + std::to_string(seed);
  for (int i = 0; i < seed % 5 + 1; ++i) {
    o.items.push_back("item" + std::to_string(i));
    o.quantities[o.items.back()] = i * seed;
  }
  o.total = seed * 1.5;
  return o;
}

}  // namespace conformance

template <>
struct hilo::use_boost_archive<conformance::Chain> : std::true_type {};
