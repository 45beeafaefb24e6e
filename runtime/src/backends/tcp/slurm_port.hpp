// The rendezvous port of a job step that srun starts without hilorun (rank 0 serves it).
//
// HILO_PORT, if set, is the port. Otherwise the port comes from the job and step ids, so that
// steps running at once on one node (two jobs sharing it, or two `srun ... &` of one job) do not
// pick the same port, as a fixed default would make them:
//
//   port = 20000 + (SLURM_JOB_ID * 16 + SLURM_STEP_ID) mod 12768,   within 20000..32767
//
// Steps 0..15 of one job get 16 consecutive ports, and jobs whose ids differ by less than 798
// get disjoint blocks; two steps share a port only if their job ids differ by a multiple of 798
// or a job starts more than 16 steps. The range stays below Linux's default ephemeral ports
// (32768 and up), from which the ranks' own listeners and all outgoing connections take theirs.
#pragma once

#include <cstdint>

namespace hilo::tcp {

inline constexpr std::uint16_t slurm_port_first = 20000;
inline constexpr std::uint16_t slurm_port_last = 32767;
inline constexpr std::uint32_t slurm_ports_per_job = 16;

// The port for step `step_id` of job `job_id`, by the rule above; always within
// slurm_port_first..slurm_port_last.
std::uint16_t slurm_rendezvous_port(std::uint64_t job_id, std::uint64_t step_id);

// The port for the step this process belongs to: HILO_PORT (1..65535) if set, else the rule
// above applied to SLURM_JOB_ID and SLURM_STEP_ID (0 if unset). hilo::Error naming the variable
// for a value that is not a number in range, or for a missing SLURM_JOB_ID without HILO_PORT.
std::uint16_t slurm_rendezvous_port_from_environment();

}  // namespace hilo::tcp
