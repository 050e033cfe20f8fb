// Content-Length framing of LSP messages over file descriptors.
#include "compiler/lsp/transport.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace gov::lsp {

namespace {

constexpr std::size_t kReadChunk = 64u << 10;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool MessageReader::Fill() {
  if (position_ > 0 && position_ == buffer_.size()) {
    buffer_.clear();
    position_ = 0;
  }
  char chunk[kReadChunk];
  for (;;) {
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool MessageReader::ReadLine(std::string& line, bool& too_long) {
  line.clear();
  for (;;) {
    std::size_t newline = buffer_.find('\n', position_);
    std::size_t end = newline == std::string::npos ? buffer_.size() : newline;
    std::size_t room = kMaxHeaderBytes > line.size() ? kMaxHeaderBytes - line.size() : 0;
    std::size_t take = std::min(end - position_, room);
    line.append(buffer_, position_, take);
    if (end - position_ > take) too_long = true;
    if (newline != std::string::npos) {
      position_ = newline + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    position_ = buffer_.size();
    if (!Fill()) return false;
  }
}

bool MessageReader::ReadBody(std::size_t count, bool keep, std::string& body) {
  body.clear();
  if (keep) body.reserve(std::min(count, kReadChunk * 16));
  while (count > 0) {
    if (position_ == buffer_.size() && !Fill()) return false;
    std::size_t take = std::min(count, buffer_.size() - position_);
    if (keep) body.append(buffer_, position_, take);
    position_ += take;
    count -= take;
  }
  return true;
}

MessageReader::Result MessageReader::Next() {
  Result result;
  std::string line;
  std::string problem;
  bool have_length = false;
  std::size_t length = 0;
  std::size_t header_bytes = 0;
  bool any_header = false;
  for (;;) {
    bool too_long = false;
    if (!ReadLine(line, too_long)) return result;  // kEnd
    header_bytes += line.size() + 1;
    if (line.empty()) {
      if (!any_header) continue;  // blank lines between messages
      break;
    }
    any_header = true;
    if (too_long || header_bytes > kMaxHeaderBytes) {
      if (problem.empty()) problem = "header block too long";
      continue;
    }
    std::string_view view(line);
    std::size_t colon = view.find(':');
    if (colon == std::string_view::npos) {
      if (problem.empty()) problem = "header line without `:`";
      continue;
    }
    std::string_view name = Trim(view.substr(0, colon));
    std::string_view value = Trim(view.substr(colon + 1));
    if (!EqualsIgnoringCase(name, "Content-Length")) continue;
    std::size_t parsed = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size() || value.empty()) {
      if (problem.empty()) problem = "malformed Content-Length";
      continue;
    }
    have_length = true;
    length = parsed;
  }
  if (!problem.empty() || !have_length) {
    result.status = Status::kBadFraming;
    result.problem = problem.empty() ? "no Content-Length header" : problem;
    // With a usable length the body is skipped too, so the next message is found.
    if (have_length && !ReadBody(length, false, result.body)) return Result{};
    return result;
  }
  if (length > kMaxMessageBytes) {
    if (!ReadBody(length, false, result.body)) return Result{};
    result.status = Status::kBadFraming;
    result.problem = "message of " + std::to_string(length) + " bytes exceeds the limit of " +
                     std::to_string(kMaxMessageBytes) + " bytes";
    return result;
  }
  if (!ReadBody(length, true, result.body)) return Result{};
  result.status = Status::kMessage;
  return result;
}

bool WriteMessage(int fd, std::string_view body) {
  std::string message = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  message.append(body);
  std::string_view rest(message);
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace gov::lsp
