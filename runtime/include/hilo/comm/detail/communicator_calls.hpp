// Communicator's wrappers around every call (declared in communicator.hpp): they name the call
// in its errors, record a blocking call in the rank's pending operations while it runs, and tell
// a FaultPlan's observer of it. Included at the end of communicator.hpp; not a header to include
// on its own.
#pragma once

#include <source_location>
#include <utility>

namespace hilo {

inline void Communicator::observe_call(const char* op) {
  if (observer_) [[unlikely]]
    observer_->on_call(op);
}

inline detail::RequestOrigin Communicator::origin(const char* op, int peer, detail::PeerRole role,
                                                  int tag) const {
  return {pending_.get(), name_, rank_, {op, peer, role, tag}};
}

template <class F>
[[gnu::always_inline]] inline auto Communicator::named(const char* op, F&& body)
    -> decltype(body()) {
  observe_call(op);  // outside the try: what it throws is not a failure of `op`
  try {
    return body();
  } catch (...) {
    rethrow_in(op);
  }
}

template <class F>
[[gnu::always_inline]] inline auto Communicator::blocking(detail::BlockingCall call,
                                                          const std::source_location& where,
                                                          F&& body) -> decltype(body()) {
  detail::PendingOperations::Entry entry(pending_.get(), call.operation, call.peer, call.role,
                                         call.tag, name_, where);
  return named(call.operation, std::forward<F>(body));
}

inline void Communicator::record_collective(const detail::BlockingCall& call,
                                            const std::source_location& where,
                                            const CollectiveShape& shape) {
  CollectiveCall& c = collectives_.next();
  c.operation = call.operation;
  c.root = call.role == detail::PeerRole::root ? call.peer : -1;
  c.shape = shape;
  c.where = where;
}

template <class F>
[[gnu::always_inline]] inline auto Communicator::collective(detail::BlockingCall call,
                                                            const std::source_location& where,
                                                            F&& body, CollectiveShape shape)
    -> decltype(body()) {
  record_collective(call, where, shape);
  return blocking(call, where, [&] {
    if (sequencer_) sequencer_->drain();
    if (checker_) [[unlikely]]
      checker_->check_same_collective(collectives_.current(), deadline({}));
    return stamped(body);
  });
}

}  // namespace hilo
