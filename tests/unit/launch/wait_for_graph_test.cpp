// The wait-for graph's report (launch/wait_for_graph.hpp): the deadlock lines in the form,
// and the ranks waiting for one that has exited.
#include "launch/wait_for_graph.hpp"

#include "catch.hpp"

using hilo::launch::WaitEdge;

TEST_CASE("a two-rank cycle is one deadlock line, from its lowest rank") {
  const std::vector<WaitEdge> edges = {{1, 0, "recv", 7, "main.cpp:15"},
                                       {0, 1, "recv", 7, "main.cpp:12"}};
  CHECK(hilo::launch::describe_deadlocks(edges) ==
        std::vector<std::string>{"deadlock: rank 0 waits for rank 1 (recv tag 7 at main.cpp:12); "
                                 "rank 1 waits for rank 0 (recv tag 7 at main.cpp:15)"});
}

TEST_CASE("a three-rank cycle is named whole; a rank waiting into it is not part of it") {
  const std::vector<WaitEdge> edges = {{0, 1, "recv", 1, "a.cpp:1"},
                                       {1, 2, "send", 2, "a.cpp:2"},
                                       {2, 0, "probe", 3, "a.cpp:3"},
                                       {3, 2, "recv", 4, "a.cpp:4"}};
  CHECK(hilo::launch::describe_deadlocks(edges) ==
        std::vector<std::string>{"deadlock: rank 0 waits for rank 1 (recv tag 1 at a.cpp:1); "
                                 "rank 1 waits for rank 2 (send tag 2 at a.cpp:2); "
                                 "rank 2 waits for rank 0 (probe tag 3 at a.cpp:3)"});
}

TEST_CASE("no cycle, no deadlock line; each of two cycles through one rank is named once") {
  CHECK(hilo::launch::describe_deadlocks({{0, 1, "recv", 7, "m.cpp:1"}}).empty());
  CHECK(hilo::launch::describe_deadlocks({}).empty());
  // Rank 0 has two blocked threads, one in each cycle.
  const std::vector<WaitEdge> edges = {{0, 1, "recv", 1, "m.cpp:1"},
                                       {0, 2, "recv", 2, "m.cpp:2"},
                                       {1, 0, "recv", 1, "m.cpp:3"},
                                       {2, 0, "recv", 2, "m.cpp:4"}};
  const auto lines = hilo::launch::describe_deadlocks(edges);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "deadlock: rank 0 waits for rank 1 (recv tag 1 at m.cpp:1); rank 1 waits "
        "for rank 0 (recv tag 1 at m.cpp:3)");
  CHECK(lines[1] ==
        "deadlock: rank 0 waits for rank 2 (recv tag 2 at m.cpp:2); rank 2 waits "
        "for rank 0 (recv tag 2 at m.cpp:4)");
}

TEST_CASE("a rank waiting for one that has exited is named as such") {
  const std::vector<WaitEdge> edges = {{2, 1, "recv", 7, "main.cpp:20"},
                                       {0, 2, "recv", -1, "main.cpp:9"}};
  CHECK(hilo::launch::describe_waits_for_exited(edges, {{1, "exit code 0"}}) ==
        std::vector<std::string>{
            "rank 2 waits for rank 1, which has exited (exit code 0) (recv tag 7 at main.cpp:20)"});
  CHECK(hilo::launch::describe_waits_for_exited(edges, {}).empty());
}
