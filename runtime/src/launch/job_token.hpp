// The job token: a shared secret that every rank of one launch presents when it connects to the
// rendezvous server or to another rank, so that a stray or hostile connection is told apart.
#pragma once

#include <string>

namespace hilo::launch {

inline constexpr std::size_t job_token_bytes = 32;

// 32 fresh bytes from the kernel's random source (getrandom), as 64 lowercase hex characters.
std::string make_job_token();

// Whether `token` has the shape make_job_token() produces (64 hex characters).
bool looks_like_job_token(const std::string& token);

}  // namespace hilo::launch
