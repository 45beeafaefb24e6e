// A help desk in two processes joined by a pipe, as in the seed's PQRSD example (os.pipe +
// os.fork): the child asks the user for an e-mail address and a request (a PQRSD: petition,
// complaint, claim, suggestion or report) on stdin and sends "email|request" through the pipe;
// the parent appends a timestamped line to a log file:
//
//   Sat, 21 Nov 2026 19:00:00 +0000|ana@example.org|My order has not arrived
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <hilo/ipc.hpp>

namespace {

// The seed's strftime("%a, %d %b %Y %X +0000", gmtime()), in the C locale (English names).
std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return text;
}

std::optional<std::string> ask(std::string_view prompt) {
  std::cout << prompt << std::endl;
  std::string answer;
  if (!std::getline(std::cin, answer)) return std::nullopt;
  return answer;
}

// The child: the user's side of the desk.
int take_request(hilo::ipc::Pipe& pipe) {
  pipe.close_read();
  std::cout << "Welcome to the PQRSD desk" << std::endl;
  std::optional<std::string> email = ask("Enter your e-mail address");
  std::optional<std::string> request = email ? ask("Enter your PQRSD") : std::nullopt;
  if (!request) {
    std::cerr << "pipe_log: stdin ended before an e-mail address and a request were given\n";
    return 1;
  }
  pipe.write_message(*email + "|" + *request);
  std::cout << "Thank you for trusting us" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string log_path = "log";
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--log" && i + 1 < argc) {
      log_path = argv[++i];
    } else {
      std::cerr << "usage: pipe_log [--log PATH]   (default PATH: ./log)\n";
      return argument == "--help" || argument == "-h" ? 0 : 2;
    }
  }

  hilo::ipc::Pipe pipe;
  hilo::ipc::ChildProcess child = hilo::ipc::spawn([&] { return take_request(pipe); });
  // The parent only reads: with its write end closed, the child's exit means end of file.
  pipe.close_write();
  std::optional<std::string> request = pipe.read_message();
  hilo::ipc::ExitStatus child_status = child.wait();
  if (!request) {
    std::cerr << "pipe_log: the child sent no request (it " << child_status.describe()
              << "); nothing logged\n";
    return 1;
  }

  std::string line = utc_timestamp() + "|" + *request;
  std::ofstream log(log_path, std::ios::app);
  if (!(log << line << '\n') || !log.flush()) {
    std::cerr << "pipe_log: cannot append to the log file \"" << log_path << "\"\n";
    return 1;
  }
  std::cout << "Logged to " << log_path << ": " << line << std::endl;
  return 0;
} catch (const std::exception& error) {
  std::cerr << "pipe_log: " << error.what() << "\n";
  return 1;
}
