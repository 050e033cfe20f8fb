// Checkpoint note texts: formatting and strict parsing.
#include "runtime/tlog/checkpoint.h"

#include <cstring>

#include "runtime/support/display.h"

namespace gov::tlog {
namespace {

// Checks one line of a checkpoint to be written: non-empty, no newline, and
// only characters a note may hold.
ErrorOr<void> CheckLine(std::string_view line, std::string_view what) {
  if (line.empty()) {
    return Error{"checkpoint " + std::string(what) + " is empty"};
  }
  if (line.find('\n') != std::string_view::npos) {
    return Error{"checkpoint " + std::string(what) + " `" + EscapeForDisplay(line) + "` holds a newline"};
  }
  auto checked = CheckNoteText(std::string(line) + "\n");
  if (!checked.ok()) {
    return Error{"checkpoint " + std::string(what) + ": " + checked.error().message};
  }
  return {};
}

ErrorOr<std::uint64_t> ParseTreeSize(std::string_view text) {
  const auto fail = [&] {
    return Error{"checkpoint tree size `" + EscapeForDisplay(text) +
                 "` is not a decimal number without leading zeros below 2^64"};
  };
  if (text.empty() || (text.size() > 1 && text[0] == '0')) {
    return fail();
  }
  std::uint64_t size = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return fail();
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (size > (UINT64_MAX - digit) / 10) {
      return fail();
    }
    size = size * 10 + digit;
  }
  return size;
}

}  // namespace

ErrorOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint) {
  GOV_RETURN_IF_ERROR(CheckLine(checkpoint.origin, "origin"));
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(checkpoint.root_hash.data()),
                                                           checkpoint.root_hash.size())) +
                     "\n";
  for (const std::string& extension : checkpoint.extensions) {
    GOV_RETURN_IF_ERROR(CheckLine(extension, "extension line"));
    text += extension;
    text.push_back('\n');
  }
  return text;
}

ErrorOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  auto checked = CheckNoteText(text);
  if (!checked.ok()) {
    return Error{"checkpoint: " + checked.error().message};
  }
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    text.remove_prefix(newline + 1);
  }
  if (lines.size() < 3) {
    return Error{"checkpoint has only " + std::to_string(lines.size()) +
                 " of its 3 required lines (origin, tree size, root hash)"};
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return Error{"checkpoint line " + std::to_string(i + 1) + " is empty"};
    }
  }
  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  GOV_ASSIGN_OR_RETURN(checkpoint.size, ParseTreeSize(lines[1]));
  auto root = crypto::Base64Decode(lines[2]);
  if (!root.ok()) {
    return Error{"checkpoint root hash is not base64: " + root.error().message};
  }
  if (root.value().size() != kHashSize) {
    return Error{"checkpoint root hash has " + std::to_string(root.value().size()) + " bytes, expected 32"};
  }
  std::memcpy(checkpoint.root_hash.data(), root.value().data(), kHashSize);
  for (std::size_t i = 3; i < lines.size(); ++i) {
    checkpoint.extensions.emplace_back(lines[i]);
  }
  return checkpoint;
}

ErrorOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, std::span<const NoteSigner> signers) {
  GOV_ASSIGN_OR_RETURN(const std::string text, FormatCheckpoint(checkpoint));
  return SignNote(text, signers);
}

ErrorOr<Checkpoint> OpenCheckpoint(std::string_view message, std::string_view origin,
                                   std::span<const NoteVerifier> known) {
  GOV_ASSIGN_OR_RETURN(const VerifiedNote note, OpenNote(message, known));
  GOV_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(note.text));
  if (checkpoint.origin != origin) {
    return Error{"checkpoint origin `" + EscapeForDisplay(checkpoint.origin) + "` is not the expected `" +
                 EscapeForDisplay(origin) + "`"};
  }
  return checkpoint;
}

}  // namespace gov::tlog
