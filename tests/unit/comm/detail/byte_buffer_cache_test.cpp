// ByteBuffer and the per-transport cache serialized sends and receives borrow from: storage is
// kept between borrows (that is the point), a second borrower at the same time gets its own
// buffer, oversized storage is not kept, and values sent through a reused buffer arrive intact.
#include <hilo/comm/detail/byte_buffer_cache.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "catch.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/hilo.hpp"

TEST_CASE("ByteBuffer grows keeping its bytes, and clear keeps the storage") {
  hilo::ByteBuffer b;
  b.append("abc", 3);
  b.resize(1000);
  REQUIRE(b.size() == 1000);
  REQUIRE(std::memcmp(b.data(), "abc", 3) == 0);
  const std::size_t capacity = b.capacity();
  b.clear();
  REQUIRE(b.empty());
  REQUIRE(b.capacity() == capacity);
}

TEST_CASE("a borrowed buffer starts empty and its storage comes back for the next borrower") {
  hilo::ByteBufferCache cache;
  const std::byte* storage = nullptr;
  {
    hilo::BorrowedBuffer first(cache);
    REQUIRE(first->empty());
    first->resize(1 << 20);
    storage = first->data();
  }
  hilo::BorrowedBuffer second(cache);
  REQUIRE(second->empty());  // the bytes of the last message are not visible as content
  REQUIRE(second->capacity() >= (1u << 20));
  REQUIRE(second->data() == storage);
}

TEST_CASE("a second borrower at the same time gets a buffer of its own") {
  hilo::ByteBufferCache cache;
  {
    hilo::BorrowedBuffer warm(cache);
    warm->resize(4096);
  }
  hilo::BorrowedBuffer owner(cache);
  hilo::BorrowedBuffer other(cache);
  REQUIRE(owner->capacity() >= 4096);
  REQUIRE(other->capacity() == 0);
  other->resize(100);
  REQUIRE(other->data() != owner->data());
}

TEST_CASE("the buffer comes back when the scope ends with an exception") {
  hilo::ByteBufferCache cache;
  try {
    hilo::BorrowedBuffer b(cache);
    b->resize(8192);
    throw std::runtime_error("decoding failed");
  } catch (const std::runtime_error&) {
  }
  hilo::BorrowedBuffer again(cache);
  REQUIRE(again->capacity() >= 8192);
}

TEST_CASE("storage over the limit is freed, not kept") {
  hilo::ByteBufferCache cache;
  {
    hilo::BorrowedBuffer big(cache);
    big->reserve(hilo::ByteBufferCache::max_kept_bytes + 1);
  }
  hilo::BorrowedBuffer next(cache);
  REQUIRE(next->capacity() == 0);
}

TEST_CASE("serializing into a reused buffer gives the same bytes as into a fresh one") {
  const std::vector<std::string> value{"first", "second", std::string(300, 'x')};
  hilo::ByteBuffer used = hilo::detail::serialize(std::vector<std::string>(50, "old bytes"));
  const hilo::ByteBuffer fresh = hilo::detail::serialize(value);
  const hilo::ByteBuffer reused = hilo::detail::serialize(value, std::move(used));
  REQUIRE(reused == fresh);
}

TEST_CASE(
    "large then small then large serialized messages arrive intact through the reused "
    "buffers") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    const std::vector<std::string> big(20000, std::string(40, 'b'));
    const std::vector<std::string> small{"s"};
    for (int round = 0; round < 3; ++round) {
      if (c.rank() == 0) {
        c.send(1, 0, big);
        c.send(1, 0, small);
        c.send(1, 0, big);
      } else {
        REQUIRE(c.recv<std::vector<std::string>>(0, 0) == big);
        REQUIRE(c.recv<std::vector<std::string>>(0, 0) == small);
        REQUIRE(c.recv<std::vector<std::string>>(0, 0) == big);
      }
    }
  });
}
