// Must NOT compile: hilo's archive meets a std::shared_ptr inside a user type. The compiler's
// message must name hilo::use_boost_archive, the way out (checked by the ctest that compiles this).
#include <hilo/comm/detail/archive.hpp>

#include <memory>

struct Node {
  int value = 0;
  std::shared_ptr<Node> next;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& value& next;
  }
};

int main() {
  hilo::OutputArchive archive;
  archive << Node{};
}
