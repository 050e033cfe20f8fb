// SourceFile line tables, code-point columns and UTF-8 validation.
#include "compiler/source/source.h"

#include <algorithm>

namespace gov::source {

Span Span::Join(const Span& other) const {
  if (!valid()) return other;
  if (!other.valid()) return *this;
  return Span{file, std::min(begin, other.begin), std::max(end, other.end)};
}

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::uint32_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

LineColumn SourceFile::Locate(std::uint32_t offset) const {
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::uint32_t line_index = static_cast<std::uint32_t>(it - line_starts_.begin()) - 1;
  std::uint32_t column = 1;
  for (std::uint32_t i = line_starts_[line_index]; i < offset; ++i) {
    // Count code points: skip UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  return LineColumn{line_index + 1, column};
}

std::string_view SourceFile::Line(std::uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  std::uint32_t begin = line_starts_[line - 1];
  std::uint32_t end = line < line_starts_.size() ? line_starts_[line] - 1
                                                 : static_cast<std::uint32_t>(text_.size());
  std::string_view view(text_.data() + begin, end - begin);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

std::string_view SourceFile::Slice(const Span& span) const {
  std::uint32_t begin = std::min<std::uint32_t>(span.begin, static_cast<std::uint32_t>(text_.size()));
  std::uint32_t end = std::min<std::uint32_t>(std::max(span.end, begin), static_cast<std::uint32_t>(text_.size()));
  return std::string_view(text_.data() + begin, end - begin);
}

namespace {

// UTF-16 code units of the code point a UTF-8 byte starts (0 for a continuation byte).
std::uint32_t Utf16Units(unsigned char byte) {
  if ((byte & 0xC0) == 0x80) return 0;
  return (byte & 0xF8) == 0xF0 ? 2 : 1;
}

}  // namespace

Utf16Position SourceFile::LocateUtf16(std::uint32_t offset) const {
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::uint32_t line_index = static_cast<std::uint32_t>(it - line_starts_.begin()) - 1;
  std::uint32_t character = 0;
  for (std::uint32_t i = line_starts_[line_index]; i < offset; ++i) {
    character += Utf16Units(static_cast<unsigned char>(text_[i]));
  }
  return Utf16Position{line_index, character};
}

std::uint32_t SourceFile::OffsetOfUtf16(Utf16Position position) const {
  const auto size = static_cast<std::uint32_t>(text_.size());
  if (position.line >= line_starts_.size()) return size;
  std::uint32_t end = position.line + 1 < line_starts_.size() ? line_starts_[position.line + 1] - 1 : size;
  std::uint32_t offset = line_starts_[position.line];
  if (end > offset && end < size && text_[end - 1] == '\r') --end;
  std::uint32_t units = 0;
  while (offset < end && units < position.character) {
    units += Utf16Units(static_cast<unsigned char>(text_[offset]));
    ++offset;
    while (offset < end && Utf16Units(static_cast<unsigned char>(text_[offset])) == 0) ++offset;
  }
  return offset;
}

FileId SourceManager::Add(std::string path, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text)));
  return static_cast<FileId>(files_.size() - 1);
}

std::size_t FindInvalidUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length;
    std::uint32_t min_code;
    std::uint32_t code;
    if ((c & 0xE0) == 0xC0) {
      length = 2, min_code = 0x80, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, min_code = 0x800, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, min_code = 0x10000, code = c & 0x07;
    } else {
      return i;
    }
    if (i + length > n) return i;
    for (std::size_t k = 1; k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace gov::source
