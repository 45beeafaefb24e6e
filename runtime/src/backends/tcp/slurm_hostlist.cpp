#include "backends/tcp/slurm_hostlist.hpp"

#include <charconv>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

constexpr std::size_t max_hosts = 1'000'000;

// The alternatives inside one pair of brackets: "01-03,7" -> 01 02 03 7.
std::vector<std::string> expand_ranges(const std::string& inside, const auto& bad) {
  std::vector<std::string> values;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = inside.find(',', start);
    std::string item =
        inside.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw bad("an empty item inside brackets");
    auto dash = item.find('-');
    std::string low = item.substr(0, dash);
    std::string high = dash == std::string::npos ? low : item.substr(dash + 1);
    auto number = [&](const std::string& digits) {
      unsigned long value = 0;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size())
        throw bad("'", item, "' is not a number or a range of numbers");
      return value;
    };
    unsigned long first = number(low), last = number(high);
    if (last < first) throw bad("the range '", item, "' goes backwards");
    if (last - first >= max_hosts) throw bad("the range '", item, "' is too large");
    const std::size_t width = low.size();  // "01-10": two digits, as Slurm pads
    for (unsigned long v = first; v <= last; ++v) {
      std::string text = std::to_string(v);
      if (text.size() < width) text.insert(0, width - text.size(), '0');
      values.push_back(std::move(text));
      if (values.size() > max_hosts) throw bad("it expands to more than a million hosts");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

}  // namespace

std::vector<std::string> expand_slurm_hostlist(const std::string& list) {
  auto bad = [&](const auto&... why) {
    return Error(
        detail::make_message("hilo: the Slurm host list '", list, "' cannot be read: ", why...));
  };
  if (list.empty()) throw bad("it is empty");
  std::vector<std::string> hosts;
  std::size_t position = 0;
  while (position < list.size()) {
    // One host expression runs to the next comma outside brackets.
    std::vector<std::string> names{""};
    while (position < list.size() && list[position] != ',') {
      if (list[position] == ']') throw bad("a ']' without its '['");
      if (list[position] != '[') {
        std::size_t end = list.find_first_of("[],", position);
        if (end == std::string::npos) end = list.size();
        for (auto& n : names) n += list.substr(position, end - position);
        position = end;
        continue;
      }
      std::size_t close = list.find(']', position);
      if (close == std::string::npos) throw bad("a '[' without its ']'");
      std::string inside = list.substr(position + 1, close - position - 1);
      if (inside.find('[') != std::string::npos) throw bad("nested brackets");
      std::vector<std::string> values = expand_ranges(inside, bad);
      std::vector<std::string> product;
      if (names.size() * values.size() > max_hosts)
        throw bad("it expands to more than a million hosts");
      for (const auto& n : names)
        for (const auto& v : values) product.push_back(n + v);
      names = std::move(product);
      position = close + 1;
    }
    if (names.front().empty()) throw bad("an empty host name");
    for (auto& n : names) hosts.push_back(std::move(n));
    if (hosts.size() > max_hosts) throw bad("it expands to more than a million hosts");
    if (position < list.size()) {
      ++position;  // the comma
      if (position == list.size()) throw bad("it ends with a comma");
    }
  }
  return hosts;
}

}  // namespace hilo::tcp
