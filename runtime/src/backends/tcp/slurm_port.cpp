#include "backends/tcp/slurm_port.hpp"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {
namespace {

constexpr std::uint64_t port_count = slurm_port_last - slurm_port_first + 1;

// The value of `name` as a whole number from `low` to `high`; nullopt if unset or empty.
std::optional<std::uint64_t> env_number(const char* name, std::uint64_t low, std::uint64_t high) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  const std::string value = text;
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc{} || end != value.data() + value.size() || number < low || number > high)
    detail::throw_error<Error>("hilo: ", name, "='", value, "' is not a number from ", low, " to ",
                               high);
  return number;
}

}  // namespace

std::uint16_t slurm_rendezvous_port(std::uint64_t job_id, std::uint64_t step_id) {
  // Reduced before multiplying, so no input overflows.
  const std::uint64_t slot =
      ((job_id % port_count) * slurm_ports_per_job + step_id % port_count) % port_count;
  return static_cast<std::uint16_t>(slurm_port_first + slot);
}

std::uint16_t slurm_rendezvous_port_from_environment() {
  if (auto port = env_number("HILO_PORT", 1, 65535)) return static_cast<std::uint16_t>(*port);
  constexpr std::uint64_t id_max = UINT64_MAX;
  const auto job = env_number("SLURM_JOB_ID", 0, id_max);
  if (!job)
    detail::throw_error<Error>(
        "hilo: SLURM_JOB_ID is not set, but the tcp backend under srun derives its rendezvous "
        "port from it; set HILO_PORT to choose the port");
  return slurm_rendezvous_port(*job, env_number("SLURM_STEP_ID", 0, id_max).value_or(0));
}

}  // namespace hilo::tcp
