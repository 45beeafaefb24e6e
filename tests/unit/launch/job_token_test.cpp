// The job token (runtime/src/launch/job_token.hpp).
#include "launch/job_token.hpp"

#include <set>

#include "catch.hpp"

using namespace hilo::launch;

TEST_CASE("job token: 64 lowercase hex characters, fresh every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string token = make_job_token();
    CHECK(token.size() == 64);
    CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(looks_like_job_token(token));
    seen.insert(token);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("job token: the shape check refuses other strings") {
  CHECK_FALSE(looks_like_job_token(""));
  CHECK_FALSE(looks_like_job_token(std::string(63, 'a')));
  CHECK_FALSE(looks_like_job_token(std::string(65, 'a')));
  CHECK_FALSE(looks_like_job_token(std::string(63, 'a') + "g"));
  CHECK(looks_like_job_token(std::string(64, 'F')));
}
