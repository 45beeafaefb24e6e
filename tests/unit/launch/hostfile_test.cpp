// The hostfile parser, --host lists and by-slot placement (runtime/src/launch/hostfile.hpp).
#include "launch/hostfile.hpp"

#include <sstream>

#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::launch::HostSlots;
using hilo::launch::parse_host_list;
using hilo::launch::parse_hostfile;
using hilo::launch::place_ranks;

namespace {

std::vector<HostSlots> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_hostfile(in, "cluster.hosts");
}

// The message of the hilo::Error that parsing `text` throws ("" if it does not throw).
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const hilo::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hostfile: hosts, slots, comments and blank lines") {
  auto hosts = parse(
      "# the cluster\n"
      "\n"
      "node1 slots=4\n"
      "   node2   slots=2 max_slots=3   # trailing comment\n"
      "node3\n"
      "node4 count=2 max-slots=5\n");
  REQUIRE(hosts.size() == 4);
  CHECK(hosts[0].host == "node1");
  CHECK(hosts[0].slots == 4);
  CHECK_FALSE(hosts[0].max_slots);
  CHECK(hosts[1].host == "node2");
  CHECK(hosts[1].slots == 2);
  CHECK(hosts[1].max_slots == 3);
  CHECK(hosts[2].slots == 1);
  CHECK(hosts[3].slots == 2);
  CHECK(hosts[3].max_slots == 5);
}

TEST_CASE("hostfile: a host listed twice adds its slots, as Open MPI does") {
  auto hosts = parse("a slots=2\nb\na slots=3\n");
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].host == "a");
  CHECK(hosts[0].slots == 5);
  CHECK(hosts[1].slots == 1);
}

TEST_CASE("hostfile: a bad line names the file, the line number and why") {
  struct Case {
    std::string text;
    std::string why;
  };
  auto c =
      GENERATE(Case{"a slots=2\nb slots=0\n", "slots must be a whole number >= 1, not '0'"},
               Case{"a slots=2\n\nb slots=-1\n", "not '-1'"}, Case{"a\nb slots=two\n", "not 'two'"},
               Case{"a\nb slots=\n", "not ''"}, Case{"a\nb slots=2x\n", "not '2x'"},
               Case{"a\nb cores=2\n", "unknown keyword 'cores'"},
               Case{"a\nb slots=2 extra\n", "unexpected word 'extra'"},
               Case{"a\nslots=2\n", "must start with a host name"},
               Case{"a\nb slots=4 max_slots=2\n", "max_slots is smaller than slots"});
  std::string message = parse_error(c.text);
  INFO(message);
  int bad_line = c.text.find("\n\n") != std::string::npos ? 3 : 2;
  CHECK(
      message.starts_with("hilo: hostfile cluster.hosts, line " + std::to_string(bad_line) + ": "));
  CHECK(message.find(c.why) != std::string::npos);
}

TEST_CASE("hostfile: Windows line endings and tabs between words are accepted") {
  auto hosts = parse(
      "# written on Windows\r\nnode1\tslots=4\r\n\r\nnode2 slots=2\tmax_slots=3\r\nnode3\r\n");
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[0].host == "node1");
  CHECK(hosts[0].slots == 4);
  CHECK(hosts[1].host == "node2");
  CHECK(hosts[1].max_slots == 3);
  CHECK(hosts[2].host == "node3");
  CHECK(hosts[2].slots == 1);
}

TEST_CASE("hostfile: a control character names the line and shows the bytes escaped") {
  using namespace std::string_literals;
  struct Case {
    std::string bad_line;  // line 2 of the file
    std::string shown;     // how the message quotes it
    std::string character;
  };
  auto c = GENERATE(
      Case{"node\0x slots=2"s, "\"node\\x00x slots=2\"", "\\x00 at column 5"},
      Case{"\x1b[31mnode slots=2", "\"\\x1b[31mnode slots=2\"", "\\x1b at column 1"},
      Case{"node1\rnode2 slots=2", "\"node1\\x0dnode2 slots=2\"", "\\x0d at column 6"},
      Case{"n\\ode\x7f # caf\xc3\xa9", "\"n\\\\ode\\x7f # caf\\xc3\\xa9\"", "\\x7f at column 6"});
  std::string message = parse_error("node0 slots=1\n" + c.bad_line + "\nnode3\n");
  INFO(message);
  CHECK(message.find("cluster.hosts, line 2: control character " + c.character + " of " +
                     c.shown) != std::string::npos);
  CHECK(message.find("(expected `host [slots=N] [max_slots=N]`)") != std::string::npos);
  for (char byte : message) CHECK((byte >= 0x20 && byte < 0x7f));  // printed whole, as is
}

TEST_CASE("hostfile: only comments is an error, a missing file names the path") {
  CHECK(parse_error("# nothing\n\n") == "hilo: hostfile cluster.hosts names no host");
  try {
    hilo::launch::read_hostfile("/nonexistent/hosts.txt");
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).starts_with("hilo: cannot open hostfile /nonexistent/hosts.txt"));
  }
}

TEST_CASE("--host lists: a,b and a:2,b like mpirun") {
  auto hosts = parse_host_list("a:2,b,c:3");
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[0].host == "a");
  CHECK(hosts[0].slots == 2);
  CHECK(hosts[1].slots == 1);
  CHECK(hosts[2].slots == 3);
  CHECK(parse_host_list("a,a").at(0).slots == 2);
  CHECK_THROWS_AS(parse_host_list("a:0"), hilo::Error);
  CHECK_THROWS_AS(parse_host_list("a:x"), hilo::Error);
  CHECK_THROWS_AS(parse_host_list("a,,b"), hilo::Error);
  CHECK_THROWS_AS(parse_host_list(""), hilo::Error);
}

TEST_CASE("placement fills each host's slots in order") {
  auto placements = place_ranks(parse_host_list("a:2,b:3"), 4, false);
  REQUIRE(placements.size() == 4);
  std::vector<std::string> hosts;
  for (auto& p : placements) hosts.push_back(p.host);
  CHECK(hosts == std::vector<std::string>{"a", "a", "b", "b"});
  CHECK(placements[1].local_rank == 1);
  CHECK(placements[1].local_size == 2);
  CHECK(placements[3].rank == 3);
  CHECK(placements[3].local_rank == 1);
  CHECK(placements[3].local_size == 2);
}

TEST_CASE("placement: more ranks than slots needs --oversubscribe, max_slots still caps") {
  auto hosts = parse("a slots=2 max_slots=3\nb slots=1\n");
  try {
    place_ranks(hosts, 4, false);
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    CHECK(
        std::string(e.what()).starts_with("hilo: asked for 4 ranks but the hosts have only 3 "
                                          "slots"));
    CHECK(std::string(e.what()).find("--oversubscribe") != std::string::npos);
  }
  auto placements = place_ranks(hosts, 6, true);
  std::vector<std::string> names;
  for (auto& p : placements) names.push_back(p.host);
  CHECK(names == std::vector<std::string>{"a", "a", "a", "b", "b", "b"});
  CHECK(placements[5].local_size == 3);

  auto capped = parse("a slots=1 max_slots=1\n");
  CHECK_THROWS_AS(place_ranks(capped, 2, true), hilo::Error);
  CHECK_THROWS_AS(place_ranks(capped, 0, false), std::invalid_argument);
  CHECK_THROWS_WITH(place_ranks(capped, 0, false),
                    "hilo: place_ranks: the number of ranks must be >= 1");
}

std::vector<std::string> hosts_of(const std::vector<hilo::launch::Placement>& placements) {
  std::vector<std::string> names;
  for (auto& p : placements) names.push_back(p.host);
  return names;
}

TEST_CASE("placement by node deals ranks to the hosts in turn, skipping full ones") {
  using hilo::launch::MapBy;
  auto placements = place_ranks(parse_host_list("a:2,b:1,c:2"), 5, {MapBy::node, {}, false});
  CHECK(hosts_of(placements) == std::vector<std::string>{"a", "b", "c", "a", "c"});
  CHECK(placements[3].local_rank == 1);
  CHECK(placements[3].local_size == 2);
  CHECK(placements[1].local_size == 1);
  // Oversubscribed by node: the extra ranks also go round.
  placements = place_ranks(parse_host_list("a,b"), 3, {MapBy::node, {}, true});
  CHECK(hosts_of(placements) == std::vector<std::string>{"a", "b", "a"});
  CHECK_THROWS_AS(place_ranks(parse_host_list("a,b"), 3, {MapBy::node, {}, false}), hilo::Error);
}

TEST_CASE("placement with -N puts exactly N ranks on each host") {
  using hilo::launch::MapBy;
  auto hosts = parse_host_list("a:4,b:4,c:4");
  auto placements = place_ranks(hosts, 5, {MapBy::slot, 2, false});
  CHECK(hosts_of(placements) == std::vector<std::string>{"a", "a", "b", "b", "c"});
  CHECK(placements[4].local_size == 1);
  placements = place_ranks(hosts, 5, {MapBy::node, 2, false});
  CHECK(hosts_of(placements) == std::vector<std::string>{"a", "b", "c", "a", "b"});
  // More ranks than N per host allows, even with --oversubscribe.
  CHECK_THROWS_AS(place_ranks(hosts, 7, {MapBy::slot, 2, true}), hilo::Error);
  // N above a host's slots needs --oversubscribe; above max_slots it is refused.
  auto small = parse("a slots=1 max_slots=2\n");
  CHECK_THROWS_AS(place_ranks(small, 2, {MapBy::slot, 2, false}), hilo::Error);
  CHECK(place_ranks(small, 2, {MapBy::slot, 2, true}).size() == 2);
  CHECK_THROWS_AS(place_ranks(small, 3, {MapBy::slot, 3, true}), hilo::Error);
}
