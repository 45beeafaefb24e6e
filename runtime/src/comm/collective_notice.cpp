#include "comm/collective_notice.hpp"

#include <cstring>
#include <string_view>

namespace hilo::detail {

namespace {

template <class T>
void put(std::vector<std::byte>& out, T value) {
  const auto at = out.size();
  out.resize(at + sizeof value);
  std::memcpy(out.data() + at, &value, sizeof value);
}

void put_text(std::vector<std::byte>& out, std::string_view text) {
  put(out, static_cast<std::uint32_t>(text.size()));
  const auto at = out.size();
  out.resize(at + text.size());
  if (!text.empty()) std::memcpy(out.data() + at, text.data(), text.size());
}

// Reads a notice front to back; ok() turns false at the first read past its end.
class Reader {
 public:
  explicit Reader(const std::vector<std::byte>& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T value{};
    if (!take(sizeof value)) return value;
    std::memcpy(&value, bytes_.data() + at_ - sizeof value, sizeof value);
    return value;
  }
  std::string get_text() {
    const auto size = get<std::uint32_t>();
    if (!take(size)) return {};
    return {reinterpret_cast<const char*>(bytes_.data()) + at_ - size, size};
  }
  bool ok() const { return ok_; }
  bool at_end() const { return at_ == bytes_.size(); }

 private:
  bool take(std::size_t n) {
    if (!ok_ || bytes_.size() - at_ < n) return ok_ = false;
    at_ += n;
    return true;
  }
  const std::vector<std::byte>& bytes_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

std::vector<std::byte> encode_notice(bool answer, std::uint32_t your_stamp,
                                     const CollectiveCallView& call) {
  std::vector<std::byte> out;
  put(out, static_cast<std::uint8_t>(answer));
  put(out, your_stamp);
  put(out, call.sequence);
  put(out, static_cast<std::int32_t>(call.root));
  put(out, static_cast<std::uint8_t>(call.shape.fixed));
  put(out, static_cast<std::uint8_t>(call.shape.type.kind));
  put(out, call.shape.type.size);
  put(out, call.shape.count);
  put(out, call.line);
  put_text(out, call.operation);
  put_text(out, call.file);
  return out;
}

std::optional<CollectiveNotice> decode_notice(const std::vector<std::byte>& bytes) {
  Reader in(bytes);
  CollectiveNotice notice;
  notice.answer = in.get<std::uint8_t>() != 0;
  notice.your_stamp = in.get<std::uint32_t>();
  notice.call.sequence = in.get<std::uint64_t>();
  notice.call.root = in.get<std::int32_t>();
  notice.call.shape.fixed = in.get<std::uint8_t>() != 0;
  notice.call.shape.type.kind = static_cast<DataType::Kind>(in.get<std::uint8_t>());
  notice.call.shape.type.size = in.get<std::uint32_t>();
  notice.call.shape.count = in.get<std::uint64_t>();
  notice.call.line = in.get<std::uint32_t>();
  notice.operation = in.get_text();
  notice.file = in.get_text();
  if (!in.ok() || !in.at_end()) return std::nullopt;
  return notice;
}

}  // namespace hilo::detail
