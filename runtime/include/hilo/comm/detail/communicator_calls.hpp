// Communicator's wrappers around every call (declared in communicator.hpp): they name the call
// in its errors, record a blocking call in the rank's pending operations while it runs, and tell
// a FaultPlan's observer of it. Included at the end of communicator.hpp; not a header to include
// on its own.
#pragma once

#include <source_location>
#include <utility>

namespace hilo {

template <class F>
auto Communicator::named(const char* op, F&& body) -> decltype(body()) {
  observe_call(op);  // outside the try: what it throws is not a failure of `op`
  try {
    return body();
  } catch (...) {
    rethrow_in(op);
  }
}

template <class F>
auto Communicator::blocking(detail::BlockingCall call, const std::source_location& where, F&& body)
    -> decltype(body()) {
  detail::PendingOperations::Entry entry(pending_.get(), call.operation, call.peer, call.role,
                                         call.tag, name_, where);
  return named(call.operation, std::forward<F>(body));
}

template <class F>
auto Communicator::collective(detail::BlockingCall call, const std::source_location& where,
                              F&& body) -> decltype(body()) {
  return blocking(call, where, [&] {
    if (sequencer_) sequencer_->drain();
    return body();
  });
}

}  // namespace hilo
