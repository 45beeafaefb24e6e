// pool_sum: the seed's multiprocessing example. Each number n becomes the sum 1 + 2 + ... + n,
// computed on a pool of 4 workers with map, which keeps the results in input order; the list is
// printed the way Python prints it.
//
//   pool_sum                   [5000050000, 20000100000, 45000150000, 80000200000]
//   pool_sum 10 100 1000       [55, 5050, 500500]
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "hilo/sync.hpp"

namespace {

// The largest n whose sum 1..n still fits in 64 bits (n * (n + 1) / 2 <= 2^63 - 1).
constexpr std::int64_t largest_n = 4'294'967'295;

// sum(range(1, n + 1)), added up one number at a time as the Python does.
std::int64_t calcular_suma(std::int64_t n) {
  auto numbers = std::views::iota(std::int64_t{1}, n + 1);
  return std::accumulate(numbers.begin(), numbers.end(), std::int64_t{0});
}

std::optional<std::vector<std::int64_t>> parse(int argc, char** argv) {
  if (argc == 1) return std::vector<std::int64_t>{100000, 200000, 300000, 400000};
  std::vector<std::int64_t> numbers;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::int64_t n = -1;
    try {
      std::size_t used = 0;
      n = std::stoll(arg, &used);
      if (used != arg.size()) n = -1;
    } catch (const std::exception&) {
    }
    if (n < 0 || n > largest_n) {
      std::cerr << "pool_sum: '" << arg << "' is not a whole number between 0 and " << largest_n
                << "\nusage: " << argv[0] << " [n ...]   (default: 100000 200000 300000 400000)\n";
      return std::nullopt;
    }
    numbers.push_back(n);
  }
  return numbers;
}

}  // namespace

int main(int argc, char** argv) {
  const auto numeros = parse(argc, argv);
  if (!numeros) return 2;

  hilo::ThreadPool pool(4);
  const std::vector<std::int64_t> resultados = pool.map(calcular_suma, *numeros);

  std::cout << '[';
  for (std::size_t i = 0; i < resultados.size(); ++i) {
    std::cout << (i == 0 ? "" : ", ") << resultados[i];
  }
  std::cout << "]\n";
  return EXIT_SUCCESS;
}
