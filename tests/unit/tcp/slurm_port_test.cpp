// The rendezvous port under srun (runtime/src/backends/tcp/slurm_port.hpp).
#include "backends/tcp/slurm_port.hpp"

#include <cstdlib>
#include <set>
#include <string>

#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::tcp::slurm_port_first;
using hilo::tcp::slurm_port_last;
using hilo::tcp::slurm_rendezvous_port;
using hilo::tcp::slurm_rendezvous_port_from_environment;

namespace {
// Sets the variables the port comes from for one test, and clears them afterwards.
struct SlurmIds {
  SlurmIds(const char* job, const char* step, const char* port) {
    set("SLURM_JOB_ID", job);
    set("SLURM_STEP_ID", step);
    set("HILO_PORT", port);
  }
  ~SlurmIds() {
    for (const char* name : {"SLURM_JOB_ID", "SLURM_STEP_ID", "HILO_PORT"}) ::unsetenv(name);
  }
  static void set(const char* name, const char* value) {
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
};

std::string error_of_environment() {
  try {
    slurm_rendezvous_port_from_environment();
  } catch (const hilo::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("slurm port: always within the documented range, below the ephemeral ports") {
  CHECK(slurm_port_first == 20000);
  CHECK(slurm_port_last == 32767);
  for (std::uint64_t job :
       {0ULL, 1ULL, 797ULL, 798ULL, 123456789ULL, 4294967295ULL, 18446744073709551615ULL}) {
    for (std::uint64_t step : {0ULL, 1ULL, 15ULL, 16ULL, 4294967291ULL, 18446744073709551615ULL}) {
      const auto port = slurm_rendezvous_port(job, step);
      INFO("job " << job << " step " << step << " -> port " << port);
      CHECK(port >= slurm_port_first);
      CHECK(port <= slurm_port_last);
    }
  }
}

TEST_CASE("slurm port: every rank of a step derives the same port") {
  CHECK(slurm_rendezvous_port(4242, 3) == slurm_rendezvous_port(4242, 3));
  CHECK(slurm_rendezvous_port(0, 0) == slurm_port_first);
}

TEST_CASE("slurm port: steps 0..15 of jobs less than 798 apart never share a port") {
  std::set<std::uint16_t> ports;
  const std::uint64_t first_job = 1'000'000;
  for (std::uint64_t job = first_job; job < first_job + 798; ++job)
    for (std::uint64_t step = 0; step < 16; ++step) ports.insert(slurm_rendezvous_port(job, step));
  CHECK(ports.size() == 798 * 16);
  // The steps of one job differ from each other, and from the neighbouring jobs' steps.
  CHECK(slurm_rendezvous_port(77, 0) != slurm_rendezvous_port(77, 1));
  CHECK(slurm_rendezvous_port(77, 0) != slurm_rendezvous_port(78, 0));
}

TEST_CASE("slurm port: HILO_PORT overrides the derived port") {
  SlurmIds ids("4242", "1", "31337");
  CHECK(slurm_rendezvous_port_from_environment() == 31337);
}

TEST_CASE("slurm port: from SLURM_JOB_ID and SLURM_STEP_ID, step 0 when srun gives none") {
  {
    SlurmIds ids("4242", "3", nullptr);
    CHECK(slurm_rendezvous_port_from_environment() == slurm_rendezvous_port(4242, 3));
  }
  SlurmIds ids("4242", nullptr, nullptr);
  CHECK(slurm_rendezvous_port_from_environment() == slurm_rendezvous_port(4242, 0));
}

TEST_CASE("slurm port: bad or missing values are errors naming the variable") {
  {
    SlurmIds ids("4242", "0", "70000");
    CHECK(error_of_environment() == "hilo: HILO_PORT='70000' is not a number from 1 to 65535");
  }
  {
    SlurmIds ids("12ab", "0", nullptr);
    CHECK(error_of_environment().find("SLURM_JOB_ID='12ab'") != std::string::npos);
  }
  SlurmIds ids(nullptr, "0", nullptr);
  const std::string what = error_of_environment();
  CHECK(what.starts_with("hilo: SLURM_JOB_ID is not set"));
  CHECK(what.find("HILO_PORT") != std::string::npos);
}
