// How values become messages and back: the three kinds (raw, contiguous, serialized) that
// hilo/comm/serialization.hpp describes for users, chosen from the type alone. The serialized kind
// goes through hilo's compile-time archive (detail/archive.hpp), or Boost's binary archive for a
// type with hilo::use_boost_archive.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <streambuf>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/core/demangle.hpp>
#include <boost/serialization/array.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/optional.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "hilo/comm/detail/archive.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/serialization.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

template <class T>
inline constexpr bool is_raw_v =
    std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T>;

// The element type of a raw value: a std::array of numbers goes as numbers (so MPI sees doubles,
// not bytes), any other raw value as itself.
template <class T>
struct raw_element {
  using type = T;
  static constexpr std::size_t count = 1;
};
template <class E, std::size_t N>
struct raw_element<std::array<E, N>> {
  using type = typename raw_element<E>::type;
  static constexpr std::size_t count = N * raw_element<E>::count;
};

template <class T>
struct contiguous : std::false_type {};
template <class E, class A>
struct contiguous<std::vector<E, A>> : std::bool_constant<is_raw_v<E> && !std::is_same_v<E, bool>> {
  using element = E;
};
template <class C, class Tr, class A>
struct contiguous<std::basic_string<C, Tr, A>> : std::true_type {
  using element = C;
};
template <class E, std::size_t N>
struct contiguous<std::span<E, N>> : std::bool_constant<is_raw_v<std::remove_cv_t<E>>> {
  using element = std::remove_cv_t<E>;
};

template <class T>
struct is_span : std::false_type {};
template <class E, std::size_t N>
struct is_span<std::span<E, N>> : std::true_type {};

enum class Encoding { raw, contiguous, serialized };
template <class T>
constexpr Encoding encoding_of() {
  if constexpr (contiguous<T>::value)
    return Encoding::contiguous;
  else if constexpr (is_raw_v<T>)
    return Encoding::raw;
  else
    return Encoding::serialized;
}

template <class T>
std::string type_name() {
  return boost::core::demangle(typeid(T).name());
}

// std::streambuf over a byte buffer, so Boost archives (for use_boost_archive types) write to and
// read from hilo's buffers without going through std::string copies.
class ByteWriter : public std::streambuf {
 public:
  explicit ByteWriter(ByteBuffer& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<std::byte>(c));
    return traits_type::not_eof(c);
  }

 private:
  ByteBuffer& out_;
};

class ByteReader : public std::streambuf {
 public:
  ByteReader(const std::byte* data, std::size_t size) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(data));
    setg(p, p, p + size);
  }
};

inline constexpr auto boost_archive_flags = boost::archive::no_header | boost::archive::no_codecvt;

// The archive of `value`, written into `reuse`'s storage (from its start) when one is given.
template <class T>
ByteBuffer serialize(const T& value, ByteBuffer reuse = {}) {
  if constexpr (use_boost_archive<T>::value) {
    ByteBuffer bytes = std::move(reuse);
    bytes.clear();
    ByteWriter writer(bytes);
    boost::archive::binary_oarchive archive(writer, boost_archive_flags);
    archive << value;
    return bytes;
  } else {
    OutputArchive archive(std::move(reuse));
    archive << value;
    return std::move(archive).bytes();
  }
}

template <class T>
void deserialize(std::span<const std::byte> bytes, T& out, int source, int tag) {
  try {
    if constexpr (use_boost_archive<T>::value) {
      ByteReader reader(bytes.data(), bytes.size());
      boost::archive::binary_iarchive archive(reader, boost_archive_flags);
      archive >> out;
    } else {
      InputArchive archive(bytes);
      archive >> out;
      if (archive.remaining() != 0)
        throw_error<Error>(archive.remaining(), " bytes are left over after the value");
    }
  } catch (const std::exception& e) {
    throw_error<Error>("hilo: could not deserialise a ", type_name<T>(), " from the ", bytes.size(),
                       "-byte message of rank ", source, " with tag ", tag, ": ", e.what(),
                       " (were both sides built with the same type?)");
  }
}

// A message ready to go: its bytes and type, and (for serialized values) the buffer that holds
// them.
struct OutgoingBytes {
  const void* data;
  std::size_t bytes;
  DataType type;
  ByteBuffer storage;  // filled for serialized values only
};

template <class T>
OutgoingBytes encode(const T& value) {
  if constexpr (encoding_of<T>() == Encoding::contiguous) {
    using E = typename contiguous<T>::element;
    return {value.data(), value.size() * sizeof(E), data_type_of<E>(), {}};
  } else if constexpr (encoding_of<T>() == Encoding::raw) {
    return {&value, sizeof(T), data_type_of<typename raw_element<T>::type>(), {}};
  } else {
    OutgoingBytes out{nullptr, 0, serialized_type, serialize(value)};
    out.data = out.storage.data();
    out.bytes = out.storage.size();
    return out;
  }
}

// Where a receive of T puts its bytes: a std::span's own memory (fixed size), a container resized
// to the message, or, for serialized values, `staging`, decoded after.
template <class T>
Sink sink_for(T& out, ByteBuffer* staging) {
  if constexpr (is_span<T>::value) {
    // Memory the caller owns: exactly out.size() elements, known before the message arrives.
    static_assert(!std::is_const_v<typename T::element_type>,
                  "cannot receive into a span of const elements");
    using E = typename T::element_type;
    return Sink{data_type_of<E>(), out.data(), out.size_bytes(), {}};
  } else if constexpr (encoding_of<T>() == Encoding::contiguous) {
    using E = typename contiguous<T>::element;
    return Sink{data_type_of<E>(), nullptr, 0, [&out](std::size_t bytes) -> void* {
                  out.resize(bytes / sizeof(E));
                  return out.data();
                }};
  } else if constexpr (encoding_of<T>() == Encoding::raw) {
    return Sink{data_type_of<typename raw_element<T>::type>(), &out, sizeof(T), {}};
  } else {
    return Sink{serialized_type, nullptr, 0, [staging](std::size_t bytes) -> void* {
                  staging->resize(bytes);  // ByteBuffer: no zero-fill, the message overwrites it
                  return staging->data();
                }};
  }
}

// A serialized value is encoded into, and received in, a buffer borrowed from the transport
// (byte_buffer_cache.hpp): a blocking send is done with its bytes when it returns, and a receive
// once they are decoded.
template <class T>
void send_value(Transport& transport, int dest, int tag, const T& value, Deadline deadline) {
  if constexpr (encoding_of<T>() == Encoding::serialized) {
    BorrowedBuffer archive(transport.byte_buffers());
    *archive = serialize(value, std::move(*archive));
    transport.send(dest, tag, archive->data(), archive->size(), serialized_type, deadline);
  } else {
    OutgoingBytes out = encode(value);
    transport.send(dest, tag, out.data, out.bytes, out.type, deadline);
  }
}

template <class T>
Status recv_value(Transport& transport, int source, int tag, T& out, Deadline deadline) {
  if constexpr (encoding_of<T>() == Encoding::serialized) {
    BorrowedBuffer staging(transport.byte_buffers());
    Status status = transport.recv(source, tag, sink_for(out, &*staging), deadline);
    deserialize(*staging, out, status.source, status.tag);
    return status;
  } else {
    return transport.recv(source, tag, sink_for(out, nullptr), deadline);
  }
}

}  // namespace hilo::detail
