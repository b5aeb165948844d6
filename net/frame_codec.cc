// Length-prefixed envelope frames (see frame_codec.h).
#include "net/frame_codec.h"

namespace cairn::net {

void encode_frame(const proto::Envelope& envelope, std::string& out) {
  const std::size_t size = envelope.ByteSizeLong();
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + size);
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) out[start + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  envelope.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + start + kFrameHeaderBytes));
}

Result<std::optional<proto::Envelope>> FrameDecoder::next() {
  if (buffered() < kFrameHeaderBytes) return std::optional<proto::Envelope>();
  const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  uint64_t length = 0;
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) length |= static_cast<uint64_t>(header[i]) << (8 * i);
  if (length > max_frame_bytes_) {
    return Status::invalid_argument("frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                                    std::to_string(max_frame_bytes_));
  }
  if (buffered() < kFrameHeaderBytes + length) return std::optional<proto::Envelope>();
  proto::Envelope envelope;
  if (!envelope.ParseFromArray(buffer_.data() + consumed_ + kFrameHeaderBytes, static_cast<int>(length))) {
    return Status::invalid_argument("a frame of " + std::to_string(length) + " bytes does not parse as an Envelope");
  }
  consumed_ += kFrameHeaderBytes + length;
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (consumed_ > 64 * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<proto::Envelope>(std::move(envelope));
}

}  // namespace cairn::net

namespace cairn::net {

std::string FrameDecoder::take_buffered() {
  std::string rest = buffer_.substr(consumed_);
  buffer_.clear();
  consumed_ = 0;
  return rest;
}

}  // namespace cairn::net
