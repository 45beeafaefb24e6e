// Slurm host lists (runtime/src/backends/tcp/slurm_hostlist.hpp).
#include "backends/tcp/slurm_hostlist.hpp"

#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::tcp::expand_slurm_hostlist;
using V = std::vector<std::string>;

TEST_CASE("slurm host list: plain names and comma lists") {
  CHECK(expand_slurm_hostlist("node1") == V{"node1"});
  CHECK(expand_slurm_hostlist("a,b,c") == V{"a", "b", "c"});
}

TEST_CASE("slurm host list: ranges keep zero padding and order") {
  CHECK(expand_slurm_hostlist("node[01-03,7]") == V{"node01", "node02", "node03", "node7"});
  CHECK(expand_slurm_hostlist("n[8-11]") == V{"n8", "n9", "n10", "n11"});
  CHECK(expand_slurm_hostlist("n[098-100]") == V{"n098", "n099", "n100"});
}

TEST_CASE("slurm host list: brackets mixed with plain names, and a suffix") {
  CHECK(expand_slurm_hostlist("gpu[1-2],cpu5,io[3]") == V{"gpu1", "gpu2", "cpu5", "io3"});
  CHECK(expand_slurm_hostlist("n[1-2].ib") == V{"n1.ib", "n2.ib"});
}

TEST_CASE("slurm host list: several bracket groups give their product, in order") {
  CHECK(expand_slurm_hostlist("rack[1-2]-n[1-2]") ==
        V{"rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"});
}

TEST_CASE("slurm host list: malformed lists are errors that quote them") {
  auto why = [](const std::string& list) {
    try {
      expand_slurm_hostlist(list);
    } catch (const hilo::Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(why(""), Catch::Matchers::Contains("empty"));
  CHECK_THAT(why("node[1-3"), Catch::Matchers::Contains("without its ']'"));
  CHECK_THAT(why("node1-3]"), Catch::Matchers::Contains("without its '['"));
  CHECK_THAT(why("node[3-1]"), Catch::Matchers::Contains("backwards"));
  CHECK_THAT(why("node[a-b]"), Catch::Matchers::Contains("not a number"));
  CHECK_THAT(why("node[1,,2]"), Catch::Matchers::Contains("empty item"));
  CHECK_THAT(why("a,,b"), Catch::Matchers::Contains("empty host name"));
  CHECK_THAT(why("a,"), Catch::Matchers::Contains("ends with a comma"));
  CHECK_THAT(why("n[0-9999999]"), Catch::Matchers::Contains("too large"));
  CHECK_THAT(why("x[1-2]"), Catch::Matchers::Equals("accepted"));
  CHECK_THAT(why("node[1-3"),
             Catch::Matchers::StartsWith("hilo: the Slurm host list 'node[1-3' cannot be read: "));
  CHECK_THAT(why("node[3-1]"), Catch::Matchers::EndsWith(": the range '3-1' goes backwards"));
}
