// Source buffers and spans: every position the compiler reports is a Span
// into a SourceFile owned by a SourceManager.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gov::source {

// Identifies a file within one SourceManager.
using FileId = std::uint32_t;
inline constexpr FileId kNoFile = 0xffffffffu;

// A half-open byte range [begin, end) in one file.
struct Span {
  FileId file = kNoFile;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  bool valid() const { return file != kNoFile; }
  // The smallest span covering both (same file).
  Span Join(const Span& other) const;
  bool operator==(const Span&) const = default;
};

// 1-based line and column (column counts Unicode code points).
struct LineColumn {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// 0-based line and UTF-16 code unit within the line: a position as the
// Language Server Protocol counts it.
struct Utf16Position {
  std::uint32_t line = 0;
  std::uint32_t character = 0;
  bool operator==(const Utf16Position&) const = default;
};

// The text of one policy file plus its line table.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  LineColumn Locate(std::uint32_t offset) const;
  // The text of 1-based `line` without its line terminator.
  std::string_view Line(std::uint32_t line) const;
  std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts_.size()); }
  std::string_view Slice(const Span& span) const;
  // The LSP position of byte `offset` (a code point outside the Basic
  // Multilingual Plane counts two units; an invalid byte counts one).
  Utf16Position LocateUtf16(std::uint32_t offset) const;
  // The byte offset of an LSP position; a line past the end is the end of
  // the text, a character past the end of its line is the line's end, and a
  // character inside a code point is that code point's end.
  std::uint32_t OffsetOfUtf16(Utf16Position position) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<std::uint32_t> line_starts_;
};

// Owns every file of one compilation; FileIds index into it.
class SourceManager {
 public:
  FileId Add(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return *files_[id]; }
  std::size_t size() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

// Largest policy file accepted (bytes); larger inputs are a tool error.
inline constexpr std::size_t kMaxSourceBytes = 64u << 20;

// Offset of the first byte that is not valid UTF-8, or npos when valid.
std::size_t FindInvalidUtf8(std::string_view text);

}  // namespace gov::source
