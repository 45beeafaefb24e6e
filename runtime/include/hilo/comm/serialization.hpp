/// \file
/// How values become messages and back, and the one choice a program makes about it.
///
/// Three kinds, chosen from the type alone, no opt-in:
///  - raw: a trivially copyable value (an int, a struct of numbers, a std::array of them) goes as
///    its own bytes, straight from and into the object;
///  - contiguous: a std::vector, std::basic_string or std::span of trivially copyable elements
///    goes as the elements' bytes, from and into the container's storage (a string therefore
///    reaches a plain MPI program as MPI_CHARs);
///  - serialized: anything else (strings inside containers, maps, user types with a Boost
///    serialize member or free function) goes as ONE message holding an archive.
///
/// The serialized kind uses hilo's compile-time binary archive: the user's Boost serialize() code
/// runs unchanged, several times faster than Boost's own archives. Types that archive cannot do
/// (pointers, smart pointers, polymorphic objects through a base pointer: they need Boost's object
/// tracking) go through Boost's binary archive instead, chosen per top-level type with
/// hilo::use_boost_archive. Without it, a pointer met inside the type is a compile error naming
/// that trait.
#pragma once

#include <type_traits>

namespace hilo {

/// Specialise as std::true_type for a type sent through Boost's binary archive rather than
/// hilo's compile-time one: types with pointers, smart pointers or polymorphic objects, which
/// need Boost's object tracking. Both ends must agree: the trait is part of the type's wire
/// format.
/// \code
/// #include <boost/serialization/shared_ptr.hpp>   // Boost's serializer for what you send
/// template <> struct hilo::use_boost_archive<Scene> : std::true_type {};
/// world.send(1, 0, scene);  // Scene holds std::shared_ptr<Shape>: Boost's archive carries it
/// \endcode
template <class T>
struct use_boost_archive : std::false_type {};

}  // namespace hilo
