// Point-to-point latency and bandwidth between ranks 0 and 1, OSU style (osu_latency, osu_bw):
// warm-up, then as many iterations per size as fit its time box, sizes by powers of 4.
//
//   latency:   ping-pong, one-way time = round trip / 2                       (us)
//   bandwidth: rank 0 posts a window of non-blocking sends, rank 1 a window of non-blocking
//              receives, then rank 1 acknowledges with 4 bytes; bytes moved / time (MB/s)
//
// With --pattern pingpong only the ping-pong runs (one message in flight, the loop of OSU's
// osu_latency), and each size gives two rows from the same measurement: pingpong-latency (one
// way, us) and pingpong-bandwidth (size / one-way time, MB/s). The default, --pattern windows,
// gives the latency and bandwidth rows above.
//
// The same measurement runs over each system through a small adaptor:
//   --system hilo        hilo::Runtime, backend from the launcher (mpirun -> hilo-mpi,
//                        hilorun -> hilo-tcp)
//   --system hilo-local  hilo::run_local: two ranks as threads of this process
//   --system mpi         the raw MPI C API (the anchor)
//   --system boost       Boost.MPI
//   --system sockets     plain loopback TCP sockets, no library (the kernel's ceiling)
//   --system gloo        Gloo's TCP pairs (its pair send/receive buffers), ranks from the launcher
//                        (bench::GlooJob); --pattern pingpong only
//   --system hilo+mpi    hilo-mpi and raw MPI in one process under mpirun, interleaved on the
//                        same buffers (bench::interleaved_seconds_per_step); rows named
//                        paired-latency, paired-bandwidth
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/mpi/nonblocking.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "gloo_job.hpp"
#include "hilo/hilo.hpp"

namespace {

constexpr int data_tag = 1;
constexpr int ack_tag = 2;
constexpr int agree_tag = 3;  // rank 0 tells rank 1 how many steps to time

using Buffer = std::vector<std::byte>;

// ---- adaptors: the same five operations over each system

struct HiloPeer {
  hilo::Communicator& world;
  int rank() const { return world.rank(); }
  int size() const { return world.size(); }
  void barrier() { world.barrier(); }
  void send(int to, int tag, const Buffer& b) {
    world.send(to, tag, std::span<const std::byte>(b));
  }
  // Into the caller's buffer of known size, as the MPI anchor's MPI_Recv does.
  void recv(int from, int tag, Buffer& b) { world.recv(from, tag, std::span<std::byte>(b)); }
  int agree(int proposal) {
    if (rank() == 0) world.send(1, agree_tag, proposal);
    return rank() == 0 ? proposal : world.recv<int>(0, agree_tag);
  }
  // The requests' vector sized once, as the MPI anchor's is.
  void send_window(int to, const Buffer& b, int window) {
    std::vector<hilo::Request> requests;
    requests.reserve(window);
    for (int k = 0; k < window; ++k)
      requests.push_back(world.isend(to, data_tag, std::span<const std::byte>(b)));
    hilo::wait_all(requests);
  }
  void recv_window(int from, std::vector<Buffer>& bufs) {
    std::vector<hilo::Request> requests;
    requests.reserve(bufs.size());
    for (auto& b : bufs) requests.push_back(world.irecv(from, data_tag, std::span<std::byte>(b)));
    hilo::wait_all(requests);
  }
};

struct MpiPeer {
  int rank() const {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
  }
  int size() const {
    int n = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
  }
  void barrier() { MPI_Barrier(MPI_COMM_WORLD); }
  void send(int to, int tag, const Buffer& b) {
    MPI_Send(b.data(), int(b.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD);
  }
  void recv(int from, int tag, Buffer& b) {
    MPI_Recv(b.data(), int(b.size()), MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  int agree(int proposal) {
    if (rank() == 0)
      MPI_Send(&proposal, 1, MPI_INT, 1, agree_tag, MPI_COMM_WORLD);
    else
      MPI_Recv(&proposal, 1, MPI_INT, 0, agree_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return proposal;
  }
  void send_window(int to, const Buffer& b, int window) {
    std::vector<MPI_Request> requests(window);
    for (auto& r : requests)
      MPI_Isend(b.data(), int(b.size()), MPI_BYTE, to, data_tag, MPI_COMM_WORLD, &r);
    MPI_Waitall(window, requests.data(), MPI_STATUSES_IGNORE);
  }
  void recv_window(int from, std::vector<Buffer>& bufs) {
    std::vector<MPI_Request> requests(bufs.size());
    for (std::size_t k = 0; k < bufs.size(); ++k)
      MPI_Irecv(bufs[k].data(), int(bufs[k].size()), MPI_BYTE, from, data_tag, MPI_COMM_WORLD,
                &requests[k]);
    MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }
};

// Boost.MPI sends arrays of char as MPI_CHAR without serialization (char is an MPI datatype).
struct BoostPeer {
  boost::mpi::communicator world;
  static const char* chars(const Buffer& b) { return reinterpret_cast<const char*>(b.data()); }
  static char* chars(Buffer& b) { return reinterpret_cast<char*>(b.data()); }
  int rank() const { return world.rank(); }
  int size() const { return world.size(); }
  void barrier() { world.barrier(); }
  void send(int to, int tag, const Buffer& b) { world.send(to, tag, chars(b), int(b.size())); }
  void recv(int from, int tag, Buffer& b) { world.recv(from, tag, chars(b), int(b.size())); }
  int agree(int proposal) {
    if (rank() == 0)
      world.send(1, agree_tag, proposal);
    else
      world.recv(0, agree_tag, proposal);
    return proposal;
  }
  void send_window(int to, const Buffer& b, int window) {
    std::vector<boost::mpi::request> requests;
    requests.reserve(window);
    for (int k = 0; k < window; ++k)
      requests.push_back(world.isend(to, data_tag, chars(b), int(b.size())));
    boost::mpi::wait_all(requests.begin(), requests.end());
  }
  void recv_window(int from, std::vector<Buffer>& bufs) {
    std::vector<boost::mpi::request> requests;
    requests.reserve(bufs.size());
    for (auto& b : bufs) requests.push_back(world.irecv(from, data_tag, chars(b), int(b.size())));
    boost::mpi::wait_all(requests.begin(), requests.end());
  }
};

// No library at all: one loopback TCP connection with TCP_NODELAY between the two ranks, the
// sender in blocking send(), the receiver polling recv(MSG_DONTWAIT) with a sched_yield between
// empty polls (as the MPI ranks run with mpi_yield_when_idle). MPI is used only to exchange the
// port and for the barrier. This is what the kernel's loopback can do with no protocol on top:
// the ceiling any TCP transport, hilo's or Open MPI's, works under.
struct SocketPeer {
  int me = 0;
  int fd = -1;

  SocketPeer() {
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int listener = -1;
    if (me == 0) {
      listener = check(::socket(AF_INET, SOCK_STREAM, 0), "socket");
      check(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), "bind");
      socklen_t length = sizeof address;
      check(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), "getsockname");
      check(::listen(listener, 1), "listen");
    }
    MPI_Bcast(&address.sin_port, sizeof address.sin_port, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (me == 0) {
      fd = check(::accept(listener, nullptr, nullptr), "accept");
      ::close(listener);
    } else {
      fd = check(::socket(AF_INET, SOCK_STREAM, 0), "socket");
      check(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), "connect");
    }
    int one = 1;
    check(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), "setsockopt");
  }
  ~SocketPeer() { ::close(fd); }
  SocketPeer(const SocketPeer&) = delete;
  SocketPeer& operator=(const SocketPeer&) = delete;

  static int check(int result, const char* what) {
    if (result < 0) throw std::runtime_error(std::string("sockets: ") + what + " failed");
    return result;
  }
  int rank() const { return me; }
  int size() const {
    int n = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
  }
  void barrier() { MPI_Barrier(MPI_COMM_WORLD); }
  void send(int, int, const Buffer& b) {
    for (std::size_t done = 0; done < b.size();) {
      ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno != EINTR) throw std::runtime_error("sockets: send failed");
      if (n > 0) done += std::size_t(n);
    }
  }
  void recv(int, int, Buffer& b) {
    for (std::size_t done = 0; done < b.size();) {
      ssize_t n = ::recv(fd, b.data() + done, b.size() - done, MSG_DONTWAIT);
      if (n > 0) {
        done += std::size_t(n);
      } else if (n == 0) {
        throw std::runtime_error("sockets: the peer closed the connection");
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ::sched_yield();
      } else if (errno != EINTR) {
        throw std::runtime_error("sockets: recv failed");
      }
    }
  }
  int agree(int proposal) {
    MPI_Bcast(&proposal, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return proposal;
  }
  void send_window(int to, const Buffer& b, int window) {
    for (int k = 0; k < window; ++k) send(to, data_tag, b);
  }
  void recv_window(int from, std::vector<Buffer>& bufs) {
    for (auto& b : bufs) recv(from, data_tag, b);
  }
};

// Gloo's point-to-point: per user buffer a send and a receive buffer of Gloo's pair API (what
// its own algorithms, e.g. AllreduceRing, use), made on first use and kept, as a program that
// reuses its buffers would. Rank 0's send buffer and rank 1's receive buffer share a slot, and
// the other way round; both ranks make them in the same order, so the slots agree. (Gloo's newer
// unbound buffers stalled for tens of milliseconds per message from 64 KiB on here.)
struct GlooPeer {
  struct Buffers {
    std::unique_ptr<gloo::transport::Buffer> send, recv;
  };
  bench::GlooJob& job;
  std::map<std::pair<std::byte*, std::size_t>, Buffers> buffers;

  Buffers& buffers_of(Buffer& b) {
    auto& found = buffers[{b.data(), b.size()}];
    if (!found.send) {
      const int peer = 1 - rank();
      const int first = job.context->nextSlot(), second = job.context->nextSlot();
      auto& pair = job.context->getPair(peer);
      found.send = pair->createSendBuffer(rank() == 0 ? first : second, b.data(), b.size());
      found.recv = pair->createRecvBuffer(rank() == 0 ? second : first, b.data(), b.size());
    }
    return found;
  }
  int rank() const { return job.rank; }
  int size() const { return job.ranks; }
  void barrier() { job.barrier(); }
  void send(int, int, Buffer& b) {
    auto& buffer = *buffers_of(b).send;
    buffer.send(0, b.size());
    buffer.waitSend();
  }
  void recv(int, int, Buffer& b) { buffers_of(b).recv->waitRecv(); }
  int agree(int proposal) { return job.agree_sum(rank() == 0 ? proposal : 0); }
};

// ---- the measurement, written once

// One ping-pong between ranks 0 and 1 over `peer`, in `buf`.
template <class Peer>
auto ping_pong_step(Peer& peer, Buffer& buf) {
  return [&peer, &buf, me = peer.rank()] {
    if (me == 0) {
      peer.send(1, data_tag, buf);
      peer.recv(1, data_tag, buf);
    } else {
      peer.recv(0, data_tag, buf);
      peer.send(0, data_tag, buf);
    }
  };
}

// The buffers of a bandwidth window: rank 0 sends `out` `window` times, rank 1 receives into
// `in`, one buffer per message, and acknowledges the window with `ack`.
struct WindowBuffers {
  WindowBuffers(int me, std::uint64_t bytes, int window)
      : out(me == 0 ? bytes : 0, std::byte{2}), in(me == 1 ? window : 0, Buffer(bytes)) {}
  Buffer out;
  std::vector<Buffer> in;
  Buffer ack = Buffer(4);
};

// One bandwidth window over `peer`.
template <class Peer>
auto window_step(Peer& peer, WindowBuffers& b, int window) {
  return [&peer, &b, window, me = peer.rank()] {
    if (me == 0) {
      peer.send_window(1, b.out, window);
      peer.recv(1, ack_tag, b.ack);
    } else {
      peer.recv_window(0, b.in);
      peer.send(0, ack_tag, b.ack);
    }
  };
}

constexpr int max_latency_steps = 20000;
constexpr int max_window_steps = 2000;

template <class Peer>
double one_way_latency_us(Peer& peer, const bench::Options& o, std::uint64_t bytes) {
  Buffer buf(bytes, std::byte{1});
  const double seconds = bench::seconds_per_step(
      o, ping_pong_step(peer, buf), [&] { peer.barrier(); }, [&](int n) { return peer.agree(n); },
      bench::pilot_steps(bytes), max_latency_steps);
  return seconds * 1e6 / 2.0;
}

template <class Peer>
double bandwidth_mb_s(Peer& peer, const bench::Options& o, std::uint64_t bytes, int window) {
  WindowBuffers buffers(peer.rank(), bytes, window);
  const double seconds = bench::seconds_per_step(
      o, window_step(peer, buffers, window), [&] { peer.barrier(); },
      [&](int n) { return peer.agree(n); }, bench::pilot_steps(bytes * window), max_window_steps);
  return double(bytes) * window / seconds / 1e6;
}

// Messages per bandwidth window: 64, or fewer so that a window moves at most 16 MiB.
int window_for(std::uint64_t bytes) {
  return int(std::clamp<std::uint64_t>((16u << 20) / bytes, 1, 64));
}

template <class Peer>
void check_pair(Peer& peer) {
  if (peer.size() != 2)
    throw std::invalid_argument("bench_p2p measures a pair: start it with exactly 2 ranks, not " +
                                std::to_string(peer.size()));
  if (peer.rank() == 0) bench::print_header();
}

// Every size's latency row, then its bandwidth row (rank 0 prints).
template <class Peer>
void run(Peer& peer, const bench::Options& o, const std::string& system) {
  check_pair(peer);
  const bool printer = peer.rank() == 0;
  for (std::uint64_t bytes : bench::sizes(o)) {
    const double us = one_way_latency_us(peer, o, bytes);
    if (printer) bench::print_row("latency", system, o.transport, bytes, 2, o.repetition, us, "us");
    const double mb_s = bandwidth_mb_s(peer, o, bytes, window_for(bytes));
    if (printer)
      bench::print_row("bandwidth", system, o.transport, bytes, 2, o.repetition, mb_s, "MB/s");
  }
}

// One message in flight: each size's ping-pong, as one-way latency and as bandwidth.
template <class Peer>
void run_pingpong(Peer& peer, const bench::Options& o, const std::string& system) {
  check_pair(peer);
  for (std::uint64_t bytes : bench::sizes(o)) {
    const double us = one_way_latency_us(peer, o, bytes);
    if (peer.rank() != 0) continue;
    bench::print_row("pingpong-latency", system, o.transport, bytes, 2, o.repetition, us, "us");
    bench::print_row("pingpong-bandwidth", system, o.transport, bytes, 2, o.repetition,
                     double(bytes) / us, "MB/s");
  }
}

// The measurement --pattern names.
template <class Peer>
void run_pattern(Peer& peer, const bench::Options& o, const std::string& system) {
  if (o.pattern == "pingpong")
    run_pingpong(peer, o, system);
  else
    run(peer, o, system);
}

// hilo-mpi and the raw MPI calls it makes, interleaved in one process on the same buffers
// (bench::interleaved_seconds_per_step), paired_rounds measurements per size.
void run_paired(HiloPeer& hilo, MpiPeer& mpi, const bench::Options& o) {
  check_pair(mpi);
  auto barrier = [&] { mpi.barrier(); };
  auto agree = [&](int n) { return mpi.agree(n); };
  auto rows = [&](const char* benchmark, std::uint64_t bytes, double hilo_value, double mpi_value,
                  const char* unit) {
    if (mpi.rank() != 0) return;
    bench::print_row(benchmark, "hilo-mpi", o.transport, bytes, 2, o.repetition, hilo_value, unit);
    bench::print_row(benchmark, "mpi", o.transport, bytes, 2, o.repetition, mpi_value, unit);
  };
  for (std::uint64_t bytes : bench::sizes(o)) {
    Buffer buf(bytes, std::byte{1});
    for (int round = 0; round < bench::paired_rounds; ++round) {
      const auto s = bench::interleaved_seconds_per_step(
          o, ping_pong_step(hilo, buf), ping_pong_step(mpi, buf), barrier, agree,
          bench::pilot_steps(bytes), max_latency_steps, round % 2 == 0);
      rows("paired-latency", bytes, s.a * 1e6 / 2.0, s.b * 1e6 / 2.0, "us");
    }
    const int window = window_for(bytes);
    WindowBuffers buffers(mpi.rank(), bytes, window);
    for (int round = 0; round < bench::paired_rounds; ++round) {
      const auto s = bench::interleaved_seconds_per_step(
          o, window_step(hilo, buffers, window), window_step(mpi, buffers, window), barrier, agree,
          bench::pilot_steps(bytes * window), max_window_steps, round % 2 == 0);
      const double moved = double(bytes) * window / 1e6;
      rows("paired-bandwidth", bytes, moved / s.a, moved / s.b, "MB/s");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_p2p", argc, argv, [&](const bench::Options& o) {
    if (!o.pattern.empty() && o.pattern != "windows" && o.pattern != "pingpong")
      throw std::invalid_argument("--pattern must be windows or pingpong, not '" + o.pattern + "'");
    if (o.system == "hilo+mpi" && o.pattern == "pingpong")
      throw std::invalid_argument("--system hilo+mpi measures --pattern windows only");
    if (o.system == "hilo") {
      hilo::Runtime rt(argc, argv);
      HiloPeer peer{rt.world()};
      run_pattern(peer, o, "hilo-" + std::string(rt.backend_name()));
    } else if (o.system == "hilo+mpi") {
      hilo::Runtime rt(argc, argv);  // initialises MPI; the raw calls then share it
      if (rt.backend_name() != "mpi")
        throw std::invalid_argument(
            "--system hilo+mpi needs the mpi backend: start it with mpirun");
      HiloPeer hilo{rt.world()};
      MpiPeer mpi;
      run_paired(hilo, mpi, o);
    } else if (o.system == "hilo-local") {
      hilo::run_local(2, [&](hilo::Communicator& c) {
        HiloPeer peer{c};
        run_pattern(peer, o, "hilo-local");
      });
    } else if (o.system == "mpi") {
      int provided = 0;
      MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
      MpiPeer peer;
      run_pattern(peer, o, "mpi");
      MPI_Finalize();
    } else if (o.system == "sockets") {
      int provided = 0;
      MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
      {
        SocketPeer peer;
        run_pattern(peer, o, "sockets");
      }
      MPI_Finalize();
    } else if (o.system == "boost") {
      boost::mpi::environment env(argc, argv);
      BoostPeer peer;
      run_pattern(peer, o, "boost-mpi");
    } else if (o.system == "gloo") {
      if (o.pattern != "pingpong")
        throw std::invalid_argument("--system gloo measures --pattern pingpong only");
      bench::GlooJob job(o);
      {
        GlooPeer peer{job, {}};
        run_pingpong(peer, o, "gloo");
      }
      job.finish();
    } else {
      throw std::invalid_argument(
          "--system must be hilo, hilo+mpi, hilo-local, mpi, boost, sockets or gloo, not '" +
          o.system + "'");
    }
  });
}
