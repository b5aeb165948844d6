// Framing of envelopes on a TCP stream: each frame is a 4-byte little-endian length followed by
// that many bytes of a serialized Envelope. The decoder enforces a maximum frame size before it
// buffers anything, so a hostile or corrupt length cannot make a node allocate gigabytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/envelope.pb.h"
#include "core/runtime/limits.h"
#include "core/runtime/status.h"

namespace cairn::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;

// Appends one frame holding `envelope` to `out`.
void encode_frame(const proto::Envelope& envelope, std::string& out);

class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes = limits::kMessageBytesMax) : max_frame_bytes_(max_frame_bytes) {}

  // Adds bytes read from the stream.
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete envelope, nothing if more bytes are needed, or an error (oversized length,
  // bytes that do not parse) after which the stream cannot be trusted and must be closed.
  Result<std::optional<proto::Envelope>> next();
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // Removes and returns the bytes not yet decoded (to hand them to another decoder).
  std::string take_buffered();

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace cairn::net
