#include "hilo/detail/error_message.hpp"

#include "hilo/errors.hpp"

namespace hilo::detail {

namespace {
// `inner` under `prefix`: "hilo: recv on rank 1: " + "rank 0 exited" (not "...: hilo: rank 0...").
std::string in_context(const std::string& prefix, std::string_view inner) {
  constexpr std::string_view ours = "hilo: ";
  if (inner.starts_with(ours)) inner.remove_prefix(ours.size());
  return make_message(prefix, inner);
}
}  // namespace

void rethrow_on_rank(const OnRank& where) {
  const std::string prefix = make_message(where);
  try {
    throw;
  } catch (const CollectiveMismatch&) {
    throw;  // names the communicator and both ranks' calls itself, in the form users match
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with(prefix)) throw;
    try {
      throw;
    } catch (const PeerLost& lost) {
      throw PeerLost(in_context(prefix, lost.what()), lost.rank(), lost.host());
    } catch (const Timeout& timeout) {
      throw Timeout(in_context(prefix, timeout.what()));
    } catch (const Error& error) {
      throw Error(in_context(prefix, error.what()));
    }
  }
}

}  // namespace hilo::detail
