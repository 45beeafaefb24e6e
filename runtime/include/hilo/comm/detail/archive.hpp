/// \file
/// hilo's binary archive: the serialized path's encoder and decoder, chosen at compile time.
///
/// Why not Boost's binary archive: Boost dispatches at run time (a per-type serializer singleton,
/// class info, object tracking, one virtual streambuf call per primitive) and constructing one of
/// its archives costs microseconds, which made a one-element message three times slower than
/// Boost.MPI. This archive resolves every type at compile time, appends to a byte buffer with no
/// call per primitive, and costs nothing to construct.
///
/// It models Boost.Serialization's archive concept, so a user's existing serialize() works
/// unchanged: `ar & x`, `ar << x`, `ar >> x`, `Archive::is_saving` / `is_loading`, make_nvp /
/// BOOST_SERIALIZATION_NVP, base_object<Base>(*this), BOOST_SERIALIZATION_SPLIT_MEMBER and
/// split_free, BOOST_CLASS_VERSION (the version is passed to serialize), make_array,
/// make_binary_object, save_binary / load_binary. A class type goes through
/// boost::serialization::serialize_adl, so member and free serialize functions both work.
/// Standard types are encoded here directly: arithmetic types and enums, std::string,
/// std::vector (one memcpy for bitwise elements; std::vector<bool> as packed bits), std::array,
/// C arrays, std::list, std::deque, std::map/multimap/set/multiset and their unordered_ forms,
/// std::pair, std::tuple, std::optional.
///
/// Wire format: values in the order serialize() names them, in the machine's own byte order (both
/// ends of a hilo job run the same build); lengths as 64-bit counts; no class information and no
/// versions on the wire, so both ends must be built with the same types and BOOST_CLASS_VERSIONs.
///
/// What it does not do: pointers (raw, std::unique_ptr, std::shared_ptr, std::weak_ptr), and so
/// polymorphic objects through a base pointer; those need Boost's object tracking. Meeting one is a
/// compile error that says how to send the type through Boost's archive instead
/// (hilo::use_boost_archive, hilo/comm/serialization.hpp). Boost's own serializers for non-standard
/// types (boost::optional, boost::variant, ...) may ask more of an archive than this one offers;
/// send those types through Boost's archive too.
///
/// Reading is bounds-checked: a truncated or malformed archive, or a length prefix larger than the
/// bytes left, raises hilo::Error before anything is allocated for it. (Every element counts as at
/// least one byte for that check, so a container of a class whose serialize writes nothing at all
/// cannot hold more elements than there are bytes after it in the message.)
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/mpl/bool.hpp>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/binary_object.hpp>
#include <boost/serialization/is_bitwise_serializable.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/serialization.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/split_member.hpp>
#include <boost/serialization/version.hpp>

#include "hilo/comm/detail/byte_buffer.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

namespace detail {

template <class T>
struct is_pointer_like : std::bool_constant<std::is_pointer_v<T> || std::is_member_pointer_v<T>> {};
template <class T, class D>
struct is_pointer_like<std::unique_ptr<T, D>> : std::true_type {};
template <class T>
struct is_pointer_like<std::shared_ptr<T>> : std::true_type {};
template <class T>
struct is_pointer_like<std::weak_ptr<T>> : std::true_type {};

template <class T>
inline constexpr bool no_pointers_v = !is_pointer_like<std::remove_cv_t<T>>::value;
/// The compile error met on a pointer; undefined again at the end of this header.
#define HILO_ARCHIVE_NO_POINTERS_MESSAGE                                                          \
  "hilo's archive does not follow pointers (raw, std::unique_ptr, std::shared_ptr; polymorphic "  \
  "objects through a base pointer): send the type you pass to send/recv through Boost's archive " \
  "with `template <> struct hilo::use_boost_archive<YourType> : std::true_type {};` "             \
  "(hilo/comm/serialization.hpp)"

// Types whose bytes are their value, so a run of them is copied in one memcpy. bool is left out:
// a byte other than 0 or 1 read into a bool is undefined behaviour, so bools are checked one by
// one.
template <class T>
struct is_bitwise
    : std::bool_constant<!std::is_same_v<T, bool> && std::is_trivially_copyable_v<T> &&
                         (std::is_arithmetic_v<T> || std::is_enum_v<T> ||
                          boost::serialization::is_bitwise_serializable<T>::value)> {};
template <class E, std::size_t N>
struct is_bitwise<std::array<E, N>> : is_bitwise<E> {};
template <class T>
inline constexpr bool is_bitwise_v = is_bitwise<std::remove_cv_t<T>>::value;

// Types Boost marks as primitive (BOOST_CLASS_IMPLEMENTATION(T, primitive_type)): Boost's binary
// archive writes them as their bytes, and so does this one.
template <class T>
inline constexpr bool is_primitive_class_v =
    std::is_class_v<T>&& std::is_trivially_copyable_v<T>&&
        boost::serialization::implementation_level<T>::value ==
    boost::serialization::primitive_type;

// The standard containers encoded as a 64-bit count then their elements, by how a reader
// rebuilds them: sequences are sized then filled in place, sets and maps are refilled by insertion.
enum class Rebuild { none, sequence, set, map };
template <class T>
inline constexpr Rebuild rebuild_v = Rebuild::none;
template <class E, class A>
inline constexpr Rebuild rebuild_v<std::list<E, A>> = Rebuild::sequence;
template <class E, class A>
inline constexpr Rebuild rebuild_v<std::deque<E, A>> = Rebuild::sequence;
template <class K, class C, class A>
inline constexpr Rebuild rebuild_v<std::set<K, C, A>> = Rebuild::set;
template <class K, class C, class A>
inline constexpr Rebuild rebuild_v<std::multiset<K, C, A>> = Rebuild::set;
template <class K, class H, class E, class A>
inline constexpr Rebuild rebuild_v<std::unordered_set<K, H, E, A>> = Rebuild::set;
template <class K, class H, class E, class A>
inline constexpr Rebuild rebuild_v<std::unordered_multiset<K, H, E, A>> = Rebuild::set;
template <class K, class V, class C, class A>
inline constexpr Rebuild rebuild_v<std::map<K, V, C, A>> = Rebuild::map;
template <class K, class V, class C, class A>
inline constexpr Rebuild rebuild_v<std::multimap<K, V, C, A>> = Rebuild::map;
template <class K, class V, class H, class E, class A>
inline constexpr Rebuild rebuild_v<std::unordered_map<K, V, H, E, A>> = Rebuild::map;
template <class K, class V, class H, class E, class A>
inline constexpr Rebuild rebuild_v<std::unordered_multimap<K, V, H, E, A>> = Rebuild::map;

// The fewest bytes one T can take in an archive; a length prefix of n elements needs at least
// n * max(1, this) bytes after it, which is how a reader rejects a forged length before
// allocating. Class types with their own serialize() are unknown and count as 0.
template <class T>
constexpr std::size_t min_wire_bytes();

template <class T>
struct MinWireBytes {
  static constexpr std::size_t value = 0;
};
template <class T>
requires(std::is_arithmetic_v<T> || std::is_enum_v<T>) struct MinWireBytes<T> {
  static constexpr std::size_t value = sizeof(T);
};
// Containers start with their 64-bit length.
struct LengthPrefixed {
  static constexpr std::size_t value = sizeof(std::uint64_t);
};
template <class C, class Tr, class A>
struct MinWireBytes<std::basic_string<C, Tr, A>> : LengthPrefixed {};
template <class E, class A>
struct MinWireBytes<std::vector<E, A>> : LengthPrefixed {};
template <class T>
requires(rebuild_v<T> != Rebuild::none) struct MinWireBytes<T> : LengthPrefixed {
};
template <class T>
struct MinWireBytes<std::optional<T>> {
  static constexpr std::size_t value = 1;
};
template <class E, std::size_t N>
struct MinWireBytes<std::array<E, N>> {
  static constexpr std::size_t value = N * min_wire_bytes<E>();
};
template <class A, class B>
struct MinWireBytes<std::pair<A, B>> {
  static constexpr std::size_t value = min_wire_bytes<A>() + min_wire_bytes<B>();
};
template <class... Ts>
struct MinWireBytes<std::tuple<Ts...>> {
  static constexpr std::size_t value = (std::size_t{0} + ... + min_wire_bytes<Ts>());
};

template <class T>
constexpr std::size_t min_wire_bytes() {
  return MinWireBytes<std::remove_cv_t<T>>::value;
}

}  // namespace detail

/// Writes values into a growing ByteBuffer (a Boost.Serialization saving archive). Construct,
/// `archive << value` (as many as needed), then take the bytes with std::move(archive).bytes().
/// A type the archive cannot write (a pointer) is a compile error. Writing throws only
/// std::bad_alloc.
class OutputArchive {
 public:
  using is_saving = boost::mpl::true_;    ///< Boost's archive concept: this archive saves.
  using is_loading = boost::mpl::false_;  ///< Boost's archive concept: this archive saves.

  /// An empty archive.
  OutputArchive() = default;
  /// Writes into `reuse`'s storage from its start, so an archive built in a loop keeps its pages.
  explicit OutputArchive(ByteBuffer reuse) : buffer_(std::move(reuse)) { buffer_.clear(); }

  /// Appends `value`.
  template <class T>
  OutputArchive& operator<<(const T& value) {
    save(value);
    return *this;
  }
  /// Appends `value` (`ar & x` in a serialize function).
  template <class T>
  OutputArchive& operator&(const T& value) {
    save(value);
    return *this;
  }
  /// Appends `bytes` raw bytes from `data` (Boost's save_binary).
  void save_binary(const void* data, std::size_t bytes) { write(data, bytes); }
  /// Boost archives register derived classes for serialization through base pointers; this
  /// archive follows no pointers, so using it is a compile error saying what to do instead.
  template <class T>
  void register_type(const T* = nullptr) {
    static_assert(sizeof(T) == 0, HILO_ARCHIVE_NO_POINTERS_MESSAGE);
  }

  /// Bytes written so far.
  std::size_t size() const { return buffer_.size(); }
  /// Takes the written bytes.
  ByteBuffer bytes() && { return std::move(buffer_); }

 private:
  void write(const void* data, std::size_t bytes) {
    reserve_for(bytes);
    buffer_.append(data, bytes);
  }
  template <class T>
  void write_bytes_of(const T& value) {
    reserve_for(sizeof(T));
    const std::size_t at = buffer_.size();
    buffer_.resize(at + sizeof(T));                       // within capacity: just the size moves
    std::memcpy(buffer_.data() + at, &value, sizeof(T));  // a fixed size: inlined to a store
  }
  void reserve_for(std::size_t bytes) {
    if (bytes > buffer_.capacity() - buffer_.size()) [[unlikely]] {
      constexpr std::size_t first_capacity = 256;  // most messages fit; no run of tiny growths
      buffer_.reserve(std::max({first_capacity, buffer_.capacity() * 2, buffer_.size() + bytes}));
    }
  }
  void write_length(std::size_t n) { write_bytes_of(static_cast<std::uint64_t>(n)); }

  template <class T>
  void save(const T& value) {
    static_assert(detail::no_pointers_v<T>, HILO_ARCHIVE_NO_POINTERS_MESSAGE);
    save_value(value);
  }
  template <class E>
  void save_elements(const E* first, std::size_t count) {
    if constexpr (detail::is_bitwise_v<E>)
      write(first, count * sizeof(E));
    else
      for (std::size_t i = 0; i < count; ++i) save(first[i]);
  }
  // Anything without an overload below: numbers, enums, Boost primitives, user classes.
  template <class T>
  void save_value(const T& value) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || detail::is_primitive_class_v<T>) {
      write_bytes_of(value);
    } else if constexpr (std::is_class_v<T>) {
      boost::serialization::serialize_adl(*this, const_cast<T&>(value),
                                          boost::serialization::version<T>::value);
    } else {
      static_assert(std::is_class_v<T>, "hilo's archive cannot serialize this kind of type");
    }
  }
  template <class C, class Tr, class A>
  void save_value(const std::basic_string<C, Tr, A>& s) {
    write_length(s.size());
    write(s.data(), s.size() * sizeof(C));
  }
  template <class E, class A>
  void save_value(const std::vector<E, A>& v) {
    write_length(v.size());
    // Room for the elements in one step, guessing each takes about its size in memory: a large
    // vector of records then costs one allocation, not a dozen doublings each copying and
    // touching fresh pages. The guess is bounded by the vector's own footprint.
    reserve_for(v.size() * sizeof(E));
    save_elements(v.data(), v.size());
  }
  template <class A>
  void save_value(const std::vector<bool, A>& v) {
    write_length(v.size());
    std::uint8_t bits = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i]) bits |= static_cast<std::uint8_t>(1u << (i % 8));
      if (i % 8 == 7 || i + 1 == v.size()) {
        write_bytes_of(bits);
        bits = 0;
      }
    }
  }
  template <class E, std::size_t N>
  void save_value(const std::array<E, N>& a) {
    save_elements(a.data(), N);
  }
  template <class E, std::size_t N>
  void save_value(const E (&a)[N]) {
    save_elements(&a[0], N);
  }
  // list, deque, sets and maps: a map's elements are pairs, saved as key then value.
  template <class Container>
  requires(detail::rebuild_v<Container> !=
           detail::Rebuild::none) void save_value(const Container& container) {
    write_length(container.size());
    for (const auto& element : container) save(element);
  }
  template <class A, class B>
  void save_value(const std::pair<A, B>& p) {
    save(p.first);
    save(p.second);
  }
  template <class... Ts>
  void save_value(const std::tuple<Ts...>& t) {
    std::apply([this](const auto&... element) { (save(element), ...); }, t);
  }
  template <class T>
  void save_value(const std::optional<T>& o) {
    write_bytes_of(static_cast<std::uint8_t>(o.has_value()));
    if (o) save(*o);
  }
  // Boost's wrappers: what they wrap goes on the wire, nothing of their own.
  template <class T>
  void save_value(const boost::serialization::nvp<T>& named) {
    save(named.const_value());
  }
  template <class T>
  void save_value(const boost::serialization::array_wrapper<T>& array) {
    save_elements(array.address(), array.count());
  }
  void save_value(const boost::serialization::binary_object& blob) { write(blob.m_t, blob.m_size); }

  ByteBuffer buffer_;
};

/// Reads values back from bytes written by OutputArchive (a Boost.Serialization loading
/// archive). Every read is checked against the bytes left; running out, a length that cannot fit
/// in them, or a byte that is no valid bool or optional flag throws hilo::Error.
class InputArchive {
 public:
  using is_saving = boost::mpl::false_;  ///< Boost's archive concept: this archive loads.
  using is_loading = boost::mpl::true_;  ///< Boost's archive concept: this archive loads.

  /// Reads from `bytes`, which must outlive the archive.
  explicit InputArchive(std::span<const std::byte> bytes)
      : next_(bytes.data()), end_(bytes.data() + bytes.size()), size_(bytes.size()) {}

  /// Reads the next value into `value`; hilo::Error if the bytes are truncated or malformed.
  template <class T>
  InputArchive& operator>>(T& value) {
    load(value);
    return *this;
  }
  /// Reads the next value into `value` (`ar & x` in a serialize function); throws as >>.
  template <class T>
  InputArchive& operator&(T& value) {
    load(value);
    return *this;
  }
  /// Reads `bytes` raw bytes into `into` (Boost's load_binary); hilo::Error if fewer are left.
  void load_binary(void* into, std::size_t bytes) { read(into, bytes); }
  /// Using it is a compile error, as for OutputArchive::register_type.
  template <class T>
  void register_type(const T* = nullptr) {
    static_assert(sizeof(T) == 0, HILO_ARCHIVE_NO_POINTERS_MESSAGE);
  }
  /// Boost's collection serializers call this to keep object tracking right; nothing is tracked
  /// here.
  template <class T>
  void reset_object_address(const T*, const T*) {}

  /// Bytes not read yet.
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - next_); }

 private:
  void read(void* into, std::size_t bytes) {
    if (bytes > remaining()) throw_truncated(bytes);
    if (bytes != 0) std::memcpy(into, next_, bytes);
    next_ += bytes;
  }
  template <class T>
  void read_bytes_of(T& value) {
    if (sizeof(T) > remaining()) throw_truncated(sizeof(T));
    std::memcpy(&value, next_, sizeof(T));
    next_ += sizeof(T);
  }
  // A count of elements of E, checked against the bytes left before anyone allocates for it.
  template <class E>
  std::size_t read_length() {
    std::uint64_t n = 0;
    read_bytes_of(n);
    constexpr std::size_t least = std::max<std::size_t>(1, detail::min_wire_bytes<E>());
    if (n > remaining() / least) throw_bad_length(n, least);
    return static_cast<std::size_t>(n);
  }
  std::uint8_t read_flag(const char* what) {
    std::uint8_t flag = 0;
    read_bytes_of(flag);
    if (flag > 1) throw_bad_flag(flag, what);
    return flag;
  }

  [[noreturn]] void throw_truncated(std::size_t wanted) const {
    detail::throw_error<Error>("the archive ends ", remaining(), " bytes after offset ", offset(),
                               " but the value there needs ", wanted, " (truncated or malformed)");
  }
  [[noreturn]] void throw_bad_length(std::uint64_t n, std::size_t least) const {
    detail::throw_error<Error>("the length prefix before offset ", offset(), " says ", n,
                               " elements of at least ", least, " bytes, but only ", remaining(),
                               " bytes are left (malformed archive)");
  }
  [[noreturn]] void throw_bad_flag(unsigned flag, const char* what) const {
    detail::throw_error<Error>("the byte before offset ", offset(), " should be a ", what,
                               " (0 or 1) but is ", flag, " (malformed archive)");
  }
  std::size_t offset() const { return size_ - remaining(); }

  template <class T>
  void load(T& value) {
    static_assert(detail::no_pointers_v<T>, HILO_ARCHIVE_NO_POINTERS_MESSAGE);
    load_value(value);
  }
  template <class E>
  void load_elements(E* first, std::size_t count) {
    if constexpr (detail::is_bitwise_v<E>)
      read(first, count * sizeof(E));
    else
      for (std::size_t i = 0; i < count; ++i) load(first[i]);
  }
  // list and deque: sized first, then each element read in place.
  template <class Sequence>
  void load_sequence(Sequence& sequence) {
    sequence.resize(read_length<typename Sequence::value_type>());
    for (auto& element : sequence) load(element);
  }
  template <class Set>
  void load_set(Set& set) {
    using K = typename Set::key_type;
    const std::size_t n = read_length<K>();
    set.clear();
    for (std::size_t i = 0; i < n; ++i) {
      K key{};
      load(key);
      set.emplace_hint(set.end(), std::move(key));
    }
  }
  template <class Map>
  void load_map(Map& map) {
    using K = typename Map::key_type;
    using V = typename Map::mapped_type;
    const std::size_t n = read_length<std::pair<K, V>>();
    map.clear();
    for (std::size_t i = 0; i < n; ++i) {
      K key{};
      V value{};
      load(key);
      load(value);
      map.emplace_hint(map.end(), std::move(key), std::move(value));
    }
  }

  template <class T>
  void load_value(T& value) {
    static_assert(!std::is_const_v<T>, "hilo's archive cannot load into a const object");
    if constexpr (std::is_same_v<T, bool>) {
      value = read_flag("bool") != 0;
    } else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> ||
                         detail::is_primitive_class_v<T>) {
      read_bytes_of(value);
    } else if constexpr (std::is_class_v<T>) {
      boost::serialization::serialize_adl(*this, value, boost::serialization::version<T>::value);
    } else {
      static_assert(std::is_class_v<T>, "hilo's archive cannot deserialize this kind of type");
    }
  }
  template <class C, class Tr, class A>
  void load_value(std::basic_string<C, Tr, A>& s) {
    const std::size_t n = read_length<C>();
    if constexpr (sizeof(C) == 1) {
      s.assign(reinterpret_cast<const C*>(next_), n);  // checked by read_length; no zero-fill first
      next_ += n;
    } else {
      s.resize(n);  // wider characters: the bytes here may not be aligned for C
      read(s.data(), n * sizeof(C));
    }
  }
  template <class E, class A>
  void load_value(std::vector<E, A>& v) {
    v.resize(read_length<E>());
    load_elements(v.data(), v.size());
  }
  template <class A>
  void load_value(std::vector<bool, A>& v) {
    std::uint64_t n = 0;
    read_bytes_of(n);
    const std::uint64_t bytes = n / 8 + (n % 8 != 0);
    if (bytes > remaining())
      detail::throw_error<Error>("the length prefix before offset ", offset(), " says ", n,
                                 " bools (", bytes, " bytes of bits), but only ", remaining(),
                                 " bytes are left (malformed archive)");
    v.resize(static_cast<std::size_t>(n));
    std::uint8_t bits = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i % 8 == 0) read_bytes_of(bits);
      v[i] = (bits >> (i % 8)) & 1u;
    }
  }
  template <class E, std::size_t N>
  void load_value(std::array<E, N>& a) {
    load_elements(a.data(), N);
  }
  template <class E, std::size_t N>
  void load_value(E (&a)[N]) {
    load_elements(&a[0], N);
  }
  template <class Container>
  requires(detail::rebuild_v<Container> !=
           detail::Rebuild::none) void load_value(Container& container) {
    constexpr auto how = detail::rebuild_v<Container>;
    if constexpr (how == detail::Rebuild::sequence)
      load_sequence(container);
    else if constexpr (how == detail::Rebuild::set)
      load_set(container);
    else
      load_map(container);
  }
  template <class A, class B>
  void load_value(std::pair<A, B>& p) {
    load(p.first);
    load(p.second);
  }
  template <class... Ts>
  void load_value(std::tuple<Ts...>& t) {
    std::apply([this](auto&... element) { (load(element), ...); }, t);
  }
  template <class T>
  void load_value(std::optional<T>& o) {
    if (read_flag("std::optional flag") == 0) {
      o.reset();
      return;
    }
    if (!o) o.emplace();
    load(*o);
  }
  template <class T>
  void load_value(const boost::serialization::nvp<T>& named) {
    load(named.value());
  }
  template <class T>
  void load_value(const boost::serialization::array_wrapper<T>& array) {
    load_elements(array.address(), array.count());
  }
  void load_value(const boost::serialization::binary_object& blob) {
    read(const_cast<void*>(blob.m_t), blob.m_size);
  }

  const std::byte* next_;
  const std::byte* end_;
  std::size_t size_;
};

}  // namespace hilo

#undef HILO_ARCHIVE_NO_POINTERS_MESSAGE
