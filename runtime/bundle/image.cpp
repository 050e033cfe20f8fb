// The native code image format (see image.h and docs/bundle-format.md).
#include "runtime/bundle/image.h"

#include <cstring>

namespace gov::bundle {
namespace {

std::uint64_t Get64(std::string_view bytes, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

void Put16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

void Put32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void Put64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

std::uint64_t CodeImage::fixup(std::size_t i) const {
  return Get64(fixups, i * 8);
}

std::uint64_t ImageDataOffset(std::uint64_t code_size) {
  return (code_size + kImageSegmentAlign - 1) / kImageSegmentAlign * kImageSegmentAlign;
}

std::string MachineName(std::uint16_t machine) {
  switch (machine) {
    case kMachineX86_64:
      return "x86-64";
    case kMachineAarch64:
      return "aarch64";
    default:
      return "machine " + std::to_string(machine);
  }
}

std::uint16_t HostMachine() {
#if defined(__x86_64__)
  return kMachineX86_64;
#elif defined(__aarch64__)
  return kMachineAarch64;
#else
  return 0;
#endif
}

std::string WriteCodeImage(const CodeImageParts& parts) {
  std::string out(kImageMagic);
  Put16(out, parts.machine);
  Put16(out, 0);
  Put32(out, static_cast<std::uint32_t>(parts.fixups.size()));
  Put64(out, parts.code.size());
  Put64(out, ImageDataOffset(parts.code.size()));
  Put64(out, parts.data.size());
  Put64(out, parts.entry);
  for (std::uint64_t fixup : parts.fixups) Put64(out, fixup);
  out += parts.code;
  out += parts.data;
  return out;
}

ErrorOr<CodeImage> ParseCodeImage(std::string_view bytes) {
  if (bytes.size() < kImageHeaderSize) {
    return Error{"native code image is truncated inside its " + std::to_string(kImageHeaderSize) + "-byte header (" +
                 std::to_string(bytes.size()) + " bytes)"};
  }
  if (bytes.substr(0, kImageMagic.size()) != kImageMagic) {
    return Error{"native code image has the wrong magic (expected `GOVCODE\\0`)"};
  }
  CodeImage image;
  image.machine =
      static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
  if (bytes[10] != 0 || bytes[11] != 0) {
    return Error{"native code image: reserved header bytes 10..11 are not zero"};
  }
  std::uint32_t fixup_count = 0;
  for (int i = 3; i >= 0; --i) {
    fixup_count = (fixup_count << 8) | static_cast<unsigned char>(bytes[12 + static_cast<std::size_t>(i)]);
  }
  image.code_size = Get64(bytes, 16);
  image.data_offset = Get64(bytes, 24);
  image.data_size = Get64(bytes, 32);
  image.entry = Get64(bytes, 40);
  if (image.code_size == 0) return Error{"native code image has no code"};
  if (image.code_size > kImageMaxSegment) {
    return Error{"native code image: code size " + std::to_string(image.code_size) + " exceeds " +
                 std::to_string(kImageMaxSegment)};
  }
  if (image.data_size > kImageMaxSegment) {
    return Error{"native code image: data size " + std::to_string(image.data_size) + " exceeds " +
                 std::to_string(kImageMaxSegment)};
  }
  if (image.data_offset != ImageDataOffset(image.code_size)) {
    return Error{"native code image: data offset " + std::to_string(image.data_offset) + " is not the code size " +
                 std::to_string(image.code_size) + " rounded up to " + std::to_string(kImageSegmentAlign) +
                 " (segments overlap or leave a gap)"};
  }
  if (image.entry >= image.code_size) {
    return Error{"native code image: entry offset " + std::to_string(image.entry) + " lies outside the code (" +
                 std::to_string(image.code_size) + " bytes)"};
  }
  // Sizes are bounded above, so these sums cannot overflow.
  const std::uint64_t fixup_bytes = std::uint64_t{fixup_count} * 8;
  const std::uint64_t expected = kImageHeaderSize + fixup_bytes + image.code_size + image.data_size;
  if (bytes.size() != expected) {
    return Error{"native code image is " + std::to_string(bytes.size()) + " bytes, its header says " +
                 std::to_string(expected) + (bytes.size() < expected ? " (truncated)" : " (trailing bytes)")};
  }
  image.fixups = bytes.substr(kImageHeaderSize, fixup_bytes);
  image.code = bytes.substr(kImageHeaderSize + fixup_bytes, image.code_size);
  image.data = bytes.substr(kImageHeaderSize + fixup_bytes + image.code_size, image.data_size);
  std::uint64_t next_free = image.data_offset;
  for (std::size_t i = 0; i < fixup_count; ++i) {
    const std::uint64_t at = image.fixup(i);
    if (at < next_free) {
      return Error{"native code image: fixup " + std::to_string(i) + " at offset " + std::to_string(at) +
                   (at < image.data_offset ? " is outside the data segment"
                                           : " overlaps the previous one (fixups must ascend by at least 8)")};
    }
    if (at - image.data_offset > image.data_size || image.data_size - (at - image.data_offset) < 8) {
      return Error{"native code image: fixup " + std::to_string(i) + " at offset " + std::to_string(at) +
                   " is outside the data segment"};
    }
    const std::uint64_t value = Get64(image.data, at - image.data_offset);
    if (value > image.mapped_size()) {
      return Error{"native code image: fixup " + std::to_string(i) + " at offset " + std::to_string(at) + " holds " +
                   std::to_string(value) + ", outside the image (" + std::to_string(image.mapped_size()) + " bytes)"};
    }
    next_free = at + 8;
  }
  return image;
}

}  // namespace gov::bundle
