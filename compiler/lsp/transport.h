// The Language Server Protocol's base protocol: messages framed by a
// `Content-Length` header, read from and written to file descriptors. Hostile
// framing (no length, a malformed or huge one, endless headers) is reported
// as a problem and the reader resynchronizes at the next header block.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gov::lsp {

// The largest message body accepted; longer bodies are read and discarded.
inline constexpr std::size_t kMaxMessageBytes = 256u << 20;
// The largest header block accepted (all header lines together).
inline constexpr std::size_t kMaxHeaderBytes = 64u << 10;

// Reads framed messages from a file descriptor.
class MessageReader {
 public:
  explicit MessageReader(int fd) : fd_(fd) {}

  enum class Status { kMessage, kEnd, kBadFraming };
  struct Result {
    Status status = Status::kEnd;
    std::string body;     // kMessage: the message body
    std::string problem;  // kBadFraming: what was wrong
  };

  // The next message; kEnd at end of input (or a read error).
  Result Next();

 private:
  // Appends available input to the buffer; false at end of input.
  bool Fill();
  // One header line without its terminator; false at end of input.
  bool ReadLine(std::string& line, bool& too_long);
  // Consumes `count` body bytes, keeping them when `keep`; false at end of input.
  bool ReadBody(std::size_t count, bool keep, std::string& body);

  int fd_;
  std::string buffer_;
  std::size_t position_ = 0;
};

// Writes one framed message; false when the output is gone.
bool WriteMessage(int fd, std::string_view body);

}  // namespace gov::lsp
