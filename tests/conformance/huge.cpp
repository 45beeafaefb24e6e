// Counts are 64-bit: one message over 2 GiB (MPI's int count limit) arrives whole.
#include "harness.hpp"

CONFORMANCE_HUGE_CASE("a message over 2 GiB") {
  if (c.size() < 2 || c.rank() > 1) return;
  const std::size_t bytes = (std::size_t{1} << 31) + 4099;
  if (c.rank() == 0) {
    std::vector<unsigned char> out(bytes);
    for (std::size_t i = 0; i < bytes; i += 4096) out[i] = static_cast<unsigned char>(i / 4096);
    out.back() = 0xAB;
    c.send(1, 1, out);
  } else {
    auto in = c.recv<std::vector<unsigned char>>(0, 1);
    EXPECT(in.size() == bytes);
    for (std::size_t i = 0; i < bytes; i += 4096)
      EXPECT(in[i] == static_cast<unsigned char>(i / 4096));
    EXPECT(in.back() == 0xAB);
  }
}
