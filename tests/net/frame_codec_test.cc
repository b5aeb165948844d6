// The TCP framing: any sequence of envelopes survives being split at arbitrary byte boundaries,
// and hostile lengths or bytes are rejected before anything is buffered or parsed as valid.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "net/frame_codec.h"
#include "tests/support/reaching_property.h"

namespace cairn::net {
namespace {

proto::Envelope make_envelope(uint64_t id, const std::string& payload) {
  proto::Envelope envelope;
  envelope.set_source(1);
  envelope.set_destination(2);
  envelope.set_request_id(id);
  envelope.set_message_type("test.Message");
  envelope.set_payload(payload);
  return envelope;
}

RC_GTEST_PROP_CASES(FrameCodec, EnvelopesSurviveArbitrarySplits, 500, (const std::vector<std::string>& payloads, const std::vector<uint8_t>& cut_sizes)) {
  std::string stream;
  for (std::size_t i = 0; i < payloads.size(); ++i) encode_frame(make_envelope(i + 1, payloads[i]), stream);
  FrameDecoder decoder;
  std::vector<proto::Envelope> decoded;
  std::size_t position = 0;
  std::size_t cut = 0;
  while (position < stream.size()) {
    const std::size_t size = cut_sizes.empty() ? stream.size() : 1 + cut_sizes[cut++ % cut_sizes.size()];
    decoder.feed(std::string_view(stream).substr(position, size));
    position += std::min(size, stream.size() - position);
    while (true) {
      auto frame = decoder.next();
      RC_ASSERT(frame.ok());
      if (!frame->has_value()) break;
      decoded.push_back(std::move(**frame));
    }
  }
  RC_ASSERT(decoded.size() == payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    RC_ASSERT(decoded[i].request_id() == i + 1);
    RC_ASSERT(decoded[i].payload() == payloads[i]);
  }
  RC_ASSERT(decoder.buffered() == 0u);
}

TEST(FrameCodec, OversizedLengthIsRejectedBeforeBuffering) {
  FrameDecoder decoder(1024);
  decoder.feed(std::string("\xff\xff\xff\x7f", 4));  // claims ~2 GiB
  auto frame = decoder.next();
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(frame.status().message().find("exceeds the limit"), std::string::npos);
}

TEST(FrameCodec, GarbageIsRejected) {
  FrameDecoder decoder;
  std::string frame = std::string("\x05\x00\x00\x00", 4) + "\xff\xff\xff\xff\xff";
  decoder.feed(frame);
  auto result = decoder.next();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(FrameCodec, IncompleteFrameWaitsForMoreBytes) {
  std::string stream;
  encode_frame(make_envelope(7, "payload"), stream);
  FrameDecoder decoder;
  decoder.feed(std::string_view(stream).substr(0, stream.size() - 1));
  auto partial = decoder.next();
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
  decoder.feed(std::string_view(stream).substr(stream.size() - 1));
  auto complete = decoder.next();
  ASSERT_TRUE(complete.ok());
  ASSERT_TRUE(complete->has_value());
  EXPECT_EQ((*complete)->request_id(), 7u);
}

}  // namespace
}  // namespace cairn::net
