#include "hilo/ipc/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <stdexcept>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::ipc {
namespace {

using hilo::detail::throw_error;

// Checks a user-given name and returns it without its optional leading '/'.
std::string checked_name(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  if (name.empty()) {
    throw_error<std::invalid_argument>(
        "hilo: ipc::SharedMemory: the name is empty; give a name such as \"hilo_demo\"");
  }
  if (name.find('/') != std::string_view::npos) {
    throw_error<std::invalid_argument>("hilo: ipc::SharedMemory: the name \"", name,
                                       "\" contains a '/'; only one leading '/' is allowed (the "
                                       "name is a single file name under /dev/shm)");
  }
  if (name == "." || name == "..") {
    throw_error<std::invalid_argument>("hilo: ipc::SharedMemory: \"", name,
                                       "\" is not a usable segment name");
  }
  if (name.size() > NAME_MAX) {
    throw_error<std::invalid_argument>("hilo: ipc::SharedMemory: the name is ", name.size(),
                                       " characters long; the limit is ", NAME_MAX);
  }
  return std::string(name);
}

std::string posix_name(const std::string& name) {
  return "/" + name;
}

std::byte* map_shared(int fd, std::size_t bytes, const std::string& name) {
  void* address = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    throw_error<Error>("hilo: ipc::SharedMemory: cannot map segment \"", name, "\" (", bytes,
                       " bytes): ", common::errno_text(errno));
  }
  return static_cast<std::byte*>(address);
}

}  // namespace

SharedMemory SharedMemory::create(std::string_view requested_name, std::size_t bytes) {
  std::string name = checked_name(requested_name);
  if (bytes == 0) {
    throw_error<std::invalid_argument>("hilo: ipc::SharedMemory::create: segment \"", name,
                                       "\": the size is 0; a segment needs at least one byte");
  }
  // Closed when the mapping is done with it (the mapping does not need it).
  common::UniqueFd fd(
      ::shm_open(posix_name(name).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    int error = errno;
    if (error == EEXIST) {
      throw_error<Error>("hilo: ipc::SharedMemory::create: a segment named \"", name,
                         "\" already exists (/dev/shm/", name,
                         "). Another program is using it, or a crashed one left it behind: pick "
                         "another name, or remove it with `rm /dev/shm/",
                         name, "` (or hilo::ipc::SharedMemory::remove)");
    }
    throw_error<Error>("hilo: ipc::SharedMemory::create: cannot create segment \"", name,
                       "\": ", common::errno_text(error));
  }
  // From here on the name exists: unlink it again if sizing or mapping fails.
  try {
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
      throw_error<Error>("hilo: ipc::SharedMemory::create: cannot size segment \"", name, "\" to ",
                         bytes, " bytes: ", common::errno_text(errno), " (is /dev/shm full?)");
    }
    std::byte* address = map_shared(fd.get(), bytes, name);
    return SharedMemory(std::move(name), address, bytes, /*creator=*/true);
  } catch (...) {
    ::shm_unlink(posix_name(name).c_str());
    throw;
  }
}

SharedMemory SharedMemory::open(std::string_view requested_name) {
  std::string name = checked_name(requested_name);
  common::UniqueFd fd(::shm_open(posix_name(name).c_str(), O_RDWR | O_CLOEXEC, 0));
  if (fd.get() < 0) {
    int error = errno;
    if (error == ENOENT) {
      throw_error<Error>("hilo: ipc::SharedMemory::open: there is no segment named \"", name,
                         "\" (/dev/shm/", name,
                         " does not exist): start the program that creates it first, and check "
                         "that both use the same name");
    }
    throw_error<Error>("hilo: ipc::SharedMemory::open: cannot open segment \"", name,
                       "\": ", common::errno_text(error));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    throw_error<Error>("hilo: ipc::SharedMemory::open: cannot read the size of segment \"", name,
                       "\": ", common::errno_text(errno));
  }
  if (status.st_size == 0) {
    throw_error<Error>("hilo: ipc::SharedMemory::open: segment \"", name,
                       "\" is empty: its creator has not sized it yet (retry), or it was not "
                       "created by hilo::ipc::SharedMemory::create");
  }
  auto bytes = static_cast<std::size_t>(status.st_size);
  std::byte* address = map_shared(fd.get(), bytes, name);
  return SharedMemory(std::move(name), address, bytes, /*creator=*/false);
}

bool SharedMemory::remove(std::string_view requested_name) {
  std::string name = checked_name(requested_name);
  if (::shm_unlink(posix_name(name).c_str()) == 0) return true;
  int error = errno;
  if (error == ENOENT) return false;
  throw_error<Error>("hilo: ipc::SharedMemory::remove: cannot remove segment \"", name,
                     "\": ", common::errno_text(error));
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : name_(std::move(other.name_)),
      address_(std::exchange(other.address_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      creator_(std::exchange(other.creator_, false)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    address_ = std::exchange(other.address_, nullptr);
    size_ = std::exchange(other.size_, 0);
    creator_ = std::exchange(other.creator_, false);
  }
  return *this;
}

SharedMemory::~SharedMemory() {
  release();
}

void SharedMemory::release() noexcept {
  if (address_ != nullptr) ::munmap(address_, size_);
  if (creator_) ::shm_unlink(posix_name(name_).c_str());
  address_ = nullptr;
  size_ = 0;
  creator_ = false;
}

}  // namespace hilo::ipc
