// A rank program for hilorun's integration tests (hilorun_test.py). Each mode exercises one
// promise of hilorun and prints what the test checks:
//   env                 the contract variables, and how often the job token appears on any
//                       process's command line (must be 0)
//   lines N             N numbered lines on stdout and on stderr, written in pieces, then a
//                       final line without '\n'
//   exit RANK CODE      rank RANK exits with CODE; the others wait to be stopped
//   kill RANK           rank RANK kills itself with SIGKILL; the others wait to be stopped
//   wait                every rank waits; SIGTERM/SIGINT make it print a line and exit 0
//   affinity            the CPUs this process and a thread it starts may run on
//                       (Cpus_allowed_list of /proc/self/status and /proc/thread-self/status)
//   rendezvous          listen, register with HILO_COORD, check and print the table (after
//                       $PROBE_DELAY_MS, rank 0 printing HILO_COORD first, if that is set)
//   lose_peer           every rank starts the hilo runtime and all-reduces in a loop, ignoring
//                       SIGTERM; a rank that gets hilo::PeerLost prints it and exits 10 at once
//                       (the test kills one rank)
// Waiting ranks write their pid and a child's pid to $PROBE_PID_DIR/rank<R>.pids first, so the
// test can check that no process survives hilorun; lose_peer ranks write their pid there once
// they are reducing.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hilo/hilo.hpp"
#include "launch/rendezvous.hpp"

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

int my_rank() {
  return std::atoi(env_or("HILO_RANK", "-1").c_str());
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// How many processes have `needle` in their command line.
int processes_with_on_command_line(const std::string& needle) {
  int found = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc) return -1;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream cmdline(std::string("/proc/") + entry->d_name + "/cmdline");
    std::stringstream text;
    text << cmdline.rdbuf();
    if (text.str().find(needle) != std::string::npos) ++found;
  }
  ::closedir(proc);
  return found;
}

int print_environment() {
  for (const char* name : {"HILO_LAUNCHER", "HILO_RANK", "HILO_SIZE", "HILO_LOCAL_RANK",
                           "HILO_LOCAL_SIZE", "HILO_HOST", "HILO_HOST_ADDR", "HILO_COORD",
                           "HILO_TIMEOUT", "PROBE_EXTRA", "PROBE_FROM_PARENT"}) {
    std::cout << "rank " << my_rank() << " " << name << "=" << env_or(name, "<unset>") << "\n";
  }
  std::string token = env_or("HILO_JOB_TOKEN", "");
  bool hex = token.size() == 64 && token.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::cout << "rank " << my_rank() << " token_is_64_hex=" << (hex ? "yes" : "no") << "\n";
  std::cout << "rank " << my_rank()
            << " token_on_command_lines=" << processes_with_on_command_line(token) << "\n";
  // Ranks of one job share one token; the test compares these short fingerprints.
  std::cout << "rank " << my_rank() << " token_fingerprint=" << std::hash<std::string>{}(token)
            << "\n";
  return 0;
}

// The Cpus_allowed_list line of a /proc status file, without its name.
std::string allowed_list(const std::string& status_path) {
  std::ifstream status(status_path);
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) {
      return line.substr(line.find_first_not_of(" \t", std::strlen("Cpus_allowed_list:")));
    }
  }
  return "<unknown>";
}

int print_affinity() {
  std::string thread_list;
  std::thread([&] { thread_list = allowed_list("/proc/thread-self/status"); }).join();
  std::cout << "rank " << my_rank() << " pid=" << ::getpid() << "\n"
            << "rank " << my_rank() << " cpus=" << allowed_list("/proc/self/status") << "\n"
            << "rank " << my_rank() << " thread_cpus=" << thread_list << "\n";
  return 0;
}

int print_lines(int count) {
  int rank = my_rank();
  for (int i = 0; i < count; ++i) {
    // Each line is written in two pieces with a pause between, so a launcher that forwarded
    // reads instead of lines would interleave ranks mid-line.
    std::string line = "rank " + std::to_string(rank) + " line " + std::to_string(i) + " " +
                       std::string(static_cast<std::size_t>(10 + (i * 37) % 200), 'x') + "\n";
    for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
      std::size_t half = line.size() / 2;
      write_all(fd, line.substr(0, half));
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      write_all(fd, line.substr(half));
    }
  }
  write_all(STDOUT_FILENO, "rank " + std::to_string(rank) + " last line without newline");
  return 0;
}

volatile sig_atomic_t got_signal = 0;

// Writes `pids` to $PROBE_PID_DIR/rank<R>.pids (whole or not at all: renamed into place).
void record_pids(const std::vector<pid_t>& pids) {
  std::string directory = env_or("PROBE_PID_DIR", "");
  if (directory.empty()) return;
  std::string path = directory + "/rank" + std::to_string(my_rank()) + ".pids";
  {
    std::ofstream out(path + ".tmp");
    for (pid_t pid : pids) out << pid << "\n";
  }
  std::rename((path + ".tmp").c_str(), path.c_str());
}

// Records this process and a child that sleeps in the same process group (something a rank
// might leave behind), then waits: forever unless signalled.
int wait_to_be_stopped() {
  pid_t child = ::fork();
  if (child == 0) {
    ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  record_pids({::getpid(), child});
  std::cout << "rank " << my_rank() << " waiting" << std::endl;
  // SIGTERM/SIGINT are blocked except inside sigsuspend, so none is lost between test and wait.
  sigset_t stop_signals, during_wait;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stop_signals, &during_wait);
  sigdelset(&during_wait, SIGTERM);
  sigdelset(&during_wait, SIGINT);
  while (!got_signal) ::sigsuspend(&during_wait);
  std::cout << "rank " << my_rank() << " got signal " << got_signal << std::endl;
  ::kill(child, SIGKILL);
  return 0;
}

int rendezvous() {
  using namespace hilo::launch;
  int rank = my_rank();
  int size = std::atoi(env_or("HILO_SIZE", "0").c_str());
  std::string ip = env_or("HILO_HOST_ADDR", "127.0.0.1");
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 16) != 0) {
    std::cerr << "rank " << rank << ": cannot listen on " << ip << "\n";
    return 2;
  }
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  PeerAddress me{rank, env_or("HILO_HOST", "?"), ip, ntohs(address.sin_port)};
  // PROBE_DELAY_MS holds the registrations back, so a test can send bad clients first.
  if (int delay = std::atoi(env_or("PROBE_DELAY_MS", "0").c_str()); delay > 0) {
    if (rank == 0) std::cout << "rank 0 coord=" << env_or("HILO_COORD", "") << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
  auto table = register_with_coordinator(env_or("HILO_COORD", ""), env_or("HILO_JOB_TOKEN", ""), me,
                                         size, std::chrono::seconds(20));
  bool ok =
      static_cast<int>(table.size()) == size && table.at(static_cast<std::size_t>(rank)) == me;
  for (int r = 0; r < size; ++r) ok = ok && table[static_cast<std::size_t>(r)].rank == r;
  std::ostringstream line;
  line << "rank " << rank << " table " << (ok ? "ok" : "WRONG") << ":";
  for (const PeerAddress& peer : table) {
    line << " " << peer.rank << "@" << peer.host << "=" << peer.ip << ":" << peer.port;
  }
  std::cout << line.str() << std::endl;
  return ok ? 0 : 1;
}

// Every rank all-reduces until one is lost; the survivors exit 10 as soon as they know, without
// waiting for hilorun's SIGTERM (ignored), so several ranks end at almost the same moment.
int lose_peer(int argc, char** argv) {
  ::signal(SIGTERM, SIG_IGN);
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    std::vector<double> values(16 * 1024, 1.0);
    for (long round = 0;; ++round) {
      auto sum = world.all_reduce(values, std::plus<>{});
      if (sum[0] != world.size()) {
        std::cerr << "rank " << world.rank() << ": all_reduce gave " << sum[0] << "\n";
        return 6;
      }
      if (round == 3) record_pids({::getpid()});
    }
  } catch (const hilo::PeerLost& e) {
    std::cout << "rank " << my_rank() << " PeerLost(rank " << e.rank() << "): " << e.what()
              << std::endl;
    return 10;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  struct sigaction on_signal {};
  on_signal.sa_handler = [](int s) { got_signal = s; };
  ::sigaction(SIGTERM, &on_signal, nullptr);
  ::sigaction(SIGINT, &on_signal, nullptr);
  try {
    if (mode == "env") return print_environment();
    if (mode == "affinity") return print_affinity();
    if (mode == "lines" && argc > 2) return print_lines(std::atoi(argv[2]));
    if (mode == "wait") return wait_to_be_stopped();
    if (mode == "rendezvous") return rendezvous();
    if (mode == "lose_peer") return lose_peer(argc, argv);
    if ((mode == "exit" && argc > 3) || (mode == "kill" && argc > 2)) {
      if (my_rank() != std::atoi(argv[2])) return wait_to_be_stopped();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the others start
      if (mode == "kill") ::raise(SIGKILL);
      return std::atoi(argv[3]);
    }
  } catch (const std::exception& e) {
    std::cerr << "rank " << my_rank() << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: launch_probe env | affinity | lines N | exit RANK CODE | kill RANK | wait | "
               "rendezvous | lose_peer\n";
  return 2;
}
