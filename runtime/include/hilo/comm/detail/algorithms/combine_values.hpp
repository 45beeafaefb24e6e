// How the generic reductions fold one value into another: acc = op(acc, in), element-wise for
// vectors (through the library's combining loops for vectors of trivially copyable elements).
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/combine.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

template <class T>
struct is_vector : std::false_type {};
template <class E, class A>
struct is_vector<std::vector<E, A>> : std::true_type {};

// acc = op(acc, in), element-wise for vectors; hilo::Error for vectors of different lengths.
template <class T, class Op>
void combine(T& acc, const T& in, Op& op) {
  if constexpr (is_vector<T>::value) {
    if (acc.size() != in.size())
      throw_error<Error>("hilo: reduction of vectors of different lengths (", acc.size(), " and ",
                         in.size(), " elements): every rank must contribute the same length");
    using E = typename T::value_type;
    if constexpr (encoding_of<T>() == Encoding::contiguous) {  // elements in one array
      auto* bytes = reinterpret_cast<std::byte*>(acc.data());
      combiner_for<E>(op)(bytes, reinterpret_cast<const std::byte*>(in.data()), bytes, acc.size());
    } else {
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = op(acc[i], in[i]);
    }
  } else {
    acc = op(acc, in);
  }
}

}  // namespace hilo::detail
