#include "output_files.hpp"

#include <fcntl.h>

#include <filesystem>
#include <system_error>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::hilorun {

std::string OutputFiles::rank_directory(const std::string& directory, int rank, int ranks) {
  std::size_t width = std::to_string(ranks - 1).size();
  std::string number = std::to_string(rank);
  if (number.size() < width) number.insert(0, width - number.size(), '0');
  return directory + "/1/rank." + number;
}

OutputFiles::OutputFiles(const std::string& directory, int ranks) {
  files_.reserve(2 * static_cast<std::size_t>(ranks));
  for (int rank = 0; rank < ranks; ++rank) {
    std::string path = rank_directory(directory, rank, ranks);
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) {
      detail::throw_error<Error>("--output-filename: cannot create directory ", path, ": ",
                                 error.message());
    }
    for (const char* name : {"/stdout", "/stderr"}) {
      std::string file = path + name;
      common::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!fd) common::throw_errno(detail::make_message("--output-filename: cannot open ", file));
      files_.push_back(std::move(fd));
    }
  }
}

int OutputFiles::fd(int rank, int stream) const {
  return files_.at(2 * static_cast<std::size_t>(rank) + (stream == 1 ? 0 : 1)).get();
}

}  // namespace hilo::hilorun
