// The matching engine's waits (comm/mailbox.hpp, internal): a receive whose message comes long
// after it was posted (so its receiver has stopped spinning and sleeps) is woken; a timed wait
// withdraws an unmatched receive, not early; a receive already matched when its time runs out is
// finished instead of torn; test() of a settled receive needs no lock; failures wake sleepers;
// a large queued message reuses the previous one's buffer. Pushed messages (small ones between
// threads) keep each sender's order with delivered ones, wake sleeping receives and probes, and are
// matched by test() and iprobe() too; their blocks are recycled, within a bound, and never reused
// before their message was read. A receive its caller owns (no allocation) takes messages like
// any other, is withdrawn for good by cancel or a timeout, and may be freed once seen done.
#include "comm/mailbox.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace std::chrono_literals;
using hilo::Deadline;
using hilo::detail::Envelope;
using hilo::detail::Mailbox;

namespace {

hilo::Sink int_sink(int& value) {
  return hilo::Sink{hilo::data_type_of<int>(), &value, sizeof value, {}};
}

// What a sender does: match (or queue), copy, complete.
void deliver_int(Mailbox& box, int source, int tag, int value) {
  Mailbox::Delivery delivery =
      box.begin(Envelope{source, tag, sizeof value, hilo::data_type_of<int>()});
  std::memcpy(delivery.destination, &value, sizeof value);
  box.finish(std::move(delivery));
}

// What the local backend does for a small message: push it, for the receiving side to match.
void push_int(Mailbox& box, int source, int tag, int value) {
  box.push(Envelope{source, tag, sizeof value, hilo::data_type_of<int>()}, &value);
}

// Long enough that the receiver has spun, yielded and gone to sleep on its futex word.
constexpr auto past_the_spin = 50ms;

}  // namespace

TEST_CASE("a receive posted long before its message sleeps and is woken by the delivery") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(1, 7, int_sink(value));
  CHECK_FALSE(box.test(*receive));
  std::jthread sender([&] {
    std::this_thread::sleep_for(past_the_spin);
    deliver_int(box, 1, 7, 42);
  });
  const hilo::Status status = box.wait(*receive, Deadline::never());
  CHECK(value == 42);
  CHECK(status.source == 1);
  CHECK(status.tag == 7);
  CHECK(status.bytes == sizeof(int));
  CHECK(box.test(*receive));
}

TEST_CASE("a message that arrived first is queued and taken by the later receive at once") {
  Mailbox box(0);
  deliver_int(box, 2, 3, 5);
  deliver_int(box, 2, 3, 6);  // same pair: received in order
  int first = 0, second = 0;
  auto r1 = box.post(2, 3, int_sink(first));
  CHECK(r1->done());
  auto r2 = box.post(hilo::any_source, hilo::any_tag, int_sink(second));
  box.wait(*r1, Deadline::never());
  box.wait(*r2, Deadline::never());
  CHECK(first == 5);
  CHECK(second == 6);
}

TEST_CASE("a large queued message reuses the buffer of the one received before it") {
  // Fresh pages for every large unexpected message were the cost (see Mailbox::keep_as_spare).
  constexpr std::size_t bytes = std::size_t{4} << 20;
  Mailbox box(0);
  std::vector<unsigned char> got(bytes);
  const std::byte* first_buffer = nullptr;
  for (int round = 0; round < 3; ++round) {
    Mailbox::Delivery delivery =
        box.begin(Envelope{1, 5, bytes, hilo::data_type_of<unsigned char>()});
    if (round == 0) first_buffer = delivery.destination;
    CHECK(delivery.destination == first_buffer);  // the spare, from the second message on
    std::memset(delivery.destination, 'a' + round, bytes);
    box.finish(std::move(delivery));  // no receive posted: queued
    auto receive =
        box.post(1, 5, hilo::Sink{hilo::data_type_of<unsigned char>(), got.data(), bytes, {}});
    box.wait(*receive, Deadline::never());
    CHECK(got.front() == 'a' + round);
    CHECK(got.back() == 'a' + round);
  }
  // A small message is not served from the spare: it stays for the next large one.
  int small = 0;
  deliver_int(box, 1, 6, 9);
  box.wait(*box.post(1, 6, int_sink(small)), Deadline::never());
  CHECK(small == 9);
  Mailbox::Delivery again = box.begin(Envelope{1, 5, bytes, hilo::data_type_of<unsigned char>()});
  CHECK(again.destination == first_buffer);
  box.finish(std::move(again));
}

TEST_CASE("a timed wait withdraws an unmatched receive after its deadline, not before") {
  Mailbox box(3);
  int value = 0;
  auto receive = box.post(1, 9, int_sink(value));
  const auto limit = 30ms;
  const auto start = std::chrono::steady_clock::now();
  try {
    box.wait(*receive, Deadline::after(limit));
    FAIL("the wait should have timed out");
  } catch (const hilo::Timeout& e) {
    CHECK(std::chrono::steady_clock::now() - start >= limit);
    CHECK(std::string(e.what()).starts_with("hilo: recv on rank 3: from rank 1 with tag 9: "));
  }
  // Withdrawn: the next message with that tag is queued, not written into the old receive.
  deliver_int(box, 1, 9, 11);
  CHECK(value == 0);
  int later = 0;
  auto again = box.post(1, 9, int_sink(later));
  box.wait(*again, Deadline::never());
  CHECK(later == 11);
}

TEST_CASE("a receive matched before its deadline is finished, not torn, when time runs out") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(1, 4, int_sink(value));
  // A delivery that has matched the receive but writes its bytes slowly (a socket reader).
  Mailbox::Delivery delivery = box.begin(Envelope{1, 4, sizeof(int), hilo::data_type_of<int>()});
  REQUIRE(delivery.receive != nullptr);
  std::jthread slow_writer([&, d = std::move(delivery)]() mutable {
    std::this_thread::sleep_for(past_the_spin);
    const int payload = 77;
    std::memcpy(d.destination, &payload, sizeof payload);
    box.finish(std::move(d));
  });
  const hilo::Status status = box.wait(*receive, Deadline::after(1ms));
  CHECK(value == 77);
  CHECK(status.bytes == sizeof(int));
}

TEST_CASE("a failure wakes a sleeping receive, which throws it") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(2, 1, int_sink(value));
  std::jthread failer([&] {
    std::this_thread::sleep_for(past_the_spin);
    box.fail_source(2, std::make_exception_ptr(hilo::Error("rank 2 went away")), false);
  });
  CHECK_THROWS_WITH(box.wait(*receive, Deadline::never()), "rank 2 went away");
  CHECK_THROWS_AS(box.test(*receive), hilo::Error);
}

TEST_CASE("an aborted delivery fails the receive it had matched") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(1, 2, int_sink(value));
  Mailbox::Delivery delivery = box.begin(Envelope{1, 2, sizeof(int), hilo::data_type_of<int>()});
  std::jthread aborter([&, d = std::move(delivery)]() mutable {
    std::this_thread::sleep_for(past_the_spin);
    box.abort(std::move(d), std::make_exception_ptr(hilo::PeerLost("lost mid-message", 1, "h")));
  });
  CHECK_THROWS_AS(box.wait(*receive, Deadline::never()), hilo::PeerLost);
}

TEST_CASE("cancel withdraws an unmatched receive and waits out a matched one") {
  Mailbox box(0);
  int unmatched_value = 0;
  auto unmatched = box.post(1, 1, int_sink(unmatched_value));
  box.cancel(*unmatched);
  deliver_int(box, 1, 1, 3);  // goes to the queue, not into the cancelled receive
  CHECK(unmatched_value == 0);
  CHECK(box.iprobe(1, 1).has_value());

  int matched_value = 0;
  auto matched = box.post(1, 5, int_sink(matched_value));
  Mailbox::Delivery delivery = box.begin(Envelope{1, 5, sizeof(int), hilo::data_type_of<int>()});
  std::jthread writer([&, d = std::move(delivery)]() mutable {
    std::this_thread::sleep_for(past_the_spin);
    const int payload = 8;
    std::memcpy(d.destination, &payload, sizeof payload);
    box.finish(std::move(d));
  });
  box.cancel(*matched);  // returns only once the bytes are in
  CHECK(matched_value == 8);
}

TEST_CASE("many ping-pongs between two threads all arrive, in order") {
  Mailbox to_one(1), to_zero(0);
  constexpr int rounds = 20000;
  int wrong = 0;
  std::jthread one([&] {
    for (int i = 0; i < rounds; ++i) {
      int value = -1;
      auto r = to_one.post(0, 0, int_sink(value));
      to_one.wait(*r, Deadline::never());
      if (value != i) ++wrong;
      deliver_int(to_zero, 1, 0, i);
    }
  });
  int mismatches = 0;
  for (int i = 0; i < rounds; ++i) {
    deliver_int(to_one, 0, 0, i);
    int value = -1;
    auto r = to_zero.post(1, 0, int_sink(value));
    to_zero.wait(*r, Deadline::never());
    if (value != i) ++mismatches;
  }
  one.join();
  CHECK(wrong == 0);
  CHECK(mismatches == 0);
}

TEST_CASE("pushed and delivered messages from one sender are received in the order sent") {
  Mailbox box(0);
  SECTION("all queued before the receives") {
    push_int(box, 1, 4, 1);
    deliver_int(box, 1, 4, 2);  // begin() matches what was pushed before it first
    push_int(box, 1, 4, 3);
    push_int(box, 2, 4, 9);  // another sender in between
    int got[3] = {};
    for (int& v : got) box.wait(*box.post(1, hilo::any_tag, int_sink(v)), Deadline::never());
    CHECK(got[0] == 1);
    CHECK(got[1] == 2);
    CHECK(got[2] == 3);
  }
  SECTION("receives posted first, taken in posting order") {
    int got[4] = {};
    std::vector<std::shared_ptr<hilo::detail::PendingReceive>> receives;
    for (int& v : got) receives.push_back(box.post(hilo::any_source, 4, int_sink(v)));
    push_int(box, 1, 4, 1);
    push_int(box, 1, 4, 2);
    deliver_int(box, 1, 4, 3);
    push_int(box, 1, 4, 4);
    for (auto& r : receives) box.wait(*r, Deadline::never());
    CHECK(got[0] == 1);
    CHECK(got[1] == 2);
    CHECK(got[2] == 3);
    CHECK(got[3] == 4);
  }
}

TEST_CASE("a push wakes a receive that sleeps, and a probe that sleeps") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(1, 7, int_sink(value));
  std::jthread sender([&] {
    std::this_thread::sleep_for(past_the_spin);
    push_int(box, 1, 7, 42);
    std::this_thread::sleep_for(past_the_spin);
    push_int(box, 1, 8, 43);
  });
  CHECK(box.wait(*receive, Deadline::never()).bytes == sizeof(int));
  CHECK(value == 42);
  const hilo::Status probed = box.probe(1, 8, Deadline::after(20s));
  CHECK(probed.tag == 8);
}

TEST_CASE("test() and iprobe() see pushed messages without any other call") {
  Mailbox box(0);
  int value = 0;
  auto receive = box.post(3, 1, int_sink(value));
  CHECK_FALSE(box.test(*receive));
  push_int(box, 3, 1, 11);
  CHECK(box.test(*receive));
  CHECK(value == 11);
  CHECK_FALSE(box.iprobe(3, 2).has_value());
  push_int(box, 3, 2, 12);
  CHECK(box.iprobe(3, 2).has_value());
}

TEST_CASE("a pushed message that does not fit fails the receive and stays queued") {
  Mailbox box(0);
  int small = 0;
  auto receive = box.post(1, 5, int_sink(small));
  const double wide = 2.5;
  box.push(Envelope{1, 5, sizeof wide, hilo::data_type_of<double>()}, &wide);
  CHECK_THROWS_AS(box.wait(*receive, Deadline::never()), hilo::Error);
  double got = 0;
  auto fitting = box.post(1, 5, hilo::Sink{hilo::data_type_of<double>(), &got, sizeof got, {}});
  box.wait(*fitting, Deadline::never());
  CHECK(got == 2.5);
}

TEST_CASE("a mailbox destroyed with pushed messages nobody matched frees them") {
  Mailbox box(0);  // ASan's leak check is what looks here
  for (int i = 0; i < 100; ++i) push_int(box, 1, 1, i);
}

TEST_CASE("the blocks of matched pushes are kept for later pushes, up to a bound") {
  Mailbox box(0);
  CHECK(box.pooled_blocks() == 0);
  auto receive_all = [&](int count) {
    for (int i = 0; i < count; ++i) {
      int value = -1;
      box.wait(*box.post(1, 1, int_sink(value)), Deadline::never());
      CHECK(value == i);
    }
  };
  for (int i = 0; i < 10; ++i) push_int(box, 1, 1, i);
  receive_all(10);
  CHECK(box.pooled_blocks() == 10);
  // Reused: ten more pushes take the kept blocks instead of new ones.
  for (int i = 0; i < 10; ++i) push_int(box, 1, 1, i);
  CHECK(box.pooled_blocks() == 0);
  receive_all(10);
  CHECK(box.pooled_blocks() == 10);
  // A burst larger than the bound leaves no more than the bound behind.
  const int burst = 3 * Mailbox::pool_max_blocks;
  for (int i = 0; i < burst; ++i) push_int(box, 1, 1, i);
  receive_all(burst);
  CHECK(box.pooled_blocks() == Mailbox::pool_max_blocks);
}

TEST_CASE("several senders pushing through recycled blocks: every message intact, each in order") {
  // Blocks go round between the senders and the receiving thread many times over; a block
  // reused before its message was read would show as a wrong or out-of-order value (and to
  // ThreadSanitizer as a race).
  Mailbox box(0);
  constexpr int senders = 3;
  constexpr int per_sender = 20000;
  std::vector<std::jthread> threads;
  for (int s = 1; s <= senders; ++s)
    threads.emplace_back([&box, s] {
      for (int i = 0; i < per_sender; ++i) {
        // A payload of push_max_bytes, every byte derived from (sender, index).
        std::vector<unsigned char> payload(Mailbox::push_max_bytes);
        for (std::size_t k = 0; k < payload.size(); ++k)
          payload[k] = static_cast<unsigned char>(s * 31 + i + k);
        box.push(Envelope{s, 0, payload.size(), hilo::data_type_of<unsigned char>()},
                 payload.data());
      }
    });
  std::vector<int> next(senders + 1, 0);
  int out_of_order = 0, corrupt = 0;
  std::vector<unsigned char> got(Mailbox::push_max_bytes);
  for (int n = 0; n < senders * per_sender; ++n) {
    auto r = box.post(hilo::any_source, 0,
                      hilo::Sink{hilo::data_type_of<unsigned char>(), got.data(), got.size(), {}});
    const int s = box.wait(*r, Deadline::never()).source;
    const int i = next[s]++;
    for (std::size_t k = 0; k < got.size(); ++k)
      if (got[k] != static_cast<unsigned char>(s * 31 + i + k)) {
        ++corrupt;
        break;
      }
    if (got[0] != static_cast<unsigned char>(s * 31 + i)) ++out_of_order;
  }
  threads.clear();
  CHECK(corrupt == 0);
  CHECK(out_of_order == 0);
  for (int s = 1; s <= senders; ++s) CHECK(next[s] == per_sender);
  CHECK(box.pooled_blocks() <= Mailbox::pool_max_blocks);
}

// ---- receives their caller owns (Mailbox::post(PendingReceive&), the local backend's way)

TEST_CASE("a receive its caller owns takes a queued, a pushed and a delivered message") {
  Mailbox box(0);
  push_int(box, 1, 3, 10);
  int queued = 0;
  hilo::detail::PendingReceive from_queue(1, 3, int_sink(queued));
  box.post(from_queue);
  CHECK(from_queue.done());
  CHECK(box.wait(from_queue, Deadline::never()).tag == 3);
  CHECK(queued == 10);

  int pushed = 0;
  hilo::detail::PendingReceive from_push(1, hilo::any_tag, int_sink(pushed));
  box.post(from_push);
  CHECK_FALSE(box.test(from_push));
  push_int(box, 1, 4, 20);
  CHECK(box.wait(from_push, Deadline::never()).tag == 4);
  CHECK(pushed == 20);

  int delivered = 0;
  hilo::detail::PendingReceive from_delivery(hilo::any_source, 5, int_sink(delivered));
  box.post(from_delivery);
  deliver_int(box, 2, 5, 30);
  CHECK(box.wait(from_delivery, Deadline::never()).source == 2);
  CHECK(delivered == 30);
}

TEST_CASE("a receive its caller owns is withdrawn by cancel, a timeout and a failure") {
  Mailbox box(0);
  int cancelled_value = 0;
  {
    hilo::detail::PendingReceive cancelled(1, 1, int_sink(cancelled_value));
    box.post(cancelled);
    box.cancel(cancelled);
  }  // gone: the mailbox must not hold it any more
  int timed_value = 0;
  {
    hilo::detail::PendingReceive timed(1, 1, int_sink(timed_value));
    box.post(timed);
    CHECK_THROWS_AS(box.wait(timed, Deadline::after(1ms)), hilo::Timeout);
  }
  push_int(box, 1, 1, 5);
  deliver_int(box, 1, 1, 6);
  int first = 0, second = 0;
  hilo::detail::PendingReceive r1(1, 1, int_sink(first)), r2(1, 1, int_sink(second));
  box.post(r1);
  box.post(r2);
  CHECK(box.wait(r1, Deadline::never()).bytes == sizeof(int));
  box.wait(r2, Deadline::never());
  CHECK((first == 5 && second == 6));
  CHECK(cancelled_value == 0);
  CHECK(timed_value == 0);

  int failed_value = 0;
  hilo::detail::PendingReceive failing(2, 1, int_sink(failed_value));
  box.post(failing);
  box.fail_source(2, std::make_exception_ptr(hilo::Error("rank 2 went away")), false);
  CHECK_THROWS_WITH(box.wait(failing, Deadline::never()), "rank 2 went away");
}

// The mailbox holds such a receive by a pointer that owns nothing: once done() is seen, the
// receive may be freed while the delivering thread is still in finish(). (Under the sanitizer
// presets a touch after that is reported.)
TEST_CASE("a receive its caller owns may be freed as soon as it is seen done") {
  Mailbox box(0);
  constexpr int rounds = 5000;
  std::atomic<int> posted{0};
  std::jthread sender([&] {
    for (int i = 0; i < rounds; ++i) {
      while (posted.load(std::memory_order_acquire) <= i) std::this_thread::yield();
      deliver_int(box, 1, 0, i);
    }
  });
  int wrong = 0;
  for (int i = 0; i < rounds; ++i) {
    int value = -1;
    auto receive = std::make_unique<hilo::detail::PendingReceive>(1, 0, int_sink(value));
    box.post(*receive);
    posted.store(i + 1, std::memory_order_release);
    while (!box.test(*receive)) std::this_thread::yield();
    receive.reset();
    if (value != i) ++wrong;
  }
  CHECK(wrong == 0);
}
