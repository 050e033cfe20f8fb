// The language server: JSON-RPC dispatch, open documents, and the requests
// answered with the driver's compilation (check + lint), the formatter and
// the analysis in analysis.h.
#include "compiler/lsp/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <tuple>

#include "compiler/diagnostics/lsp.h"
#include "compiler/driver/driver.h"
#include "compiler/format/format.h"
#include "compiler/lsp/analysis.h"
#include "compiler/lsp/transport.h"
#include "runtime/support/json_depth.h"

namespace gov::lsp {

namespace {

using json = nlohmann::json;

// JSON-RPC and LSP error codes.
enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kServerNotInitialized = -32002,
};

// Deeper JSON than any LSP message nests is refused before parsing.
constexpr int kMaxJsonDepth = 64;

struct Document {
  std::string path;
  std::string text;
  json version;
  json diagnostics = json::array();  // as last published, fixes in `data`
};

// A request's failure: its JSON-RPC error.
struct RequestError {
  int code;
  std::string message;
};

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path of a `file:` URI (percent-decoded); other URIs stand for themselves.
std::string PathOfUri(const std::string& uri) {
  const std::string scheme = "file://";
  if (uri.rfind(scheme, 0) != 0) return uri;
  std::string rest = uri.substr(scheme.size());
  if (std::size_t slash = rest.find('/'); slash != 0) rest = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string path;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && HexDigit(rest[i + 1]) >= 0 && HexDigit(rest[i + 2]) >= 0) {
      path.push_back(static_cast<char>(HexDigit(rest[i + 1]) * 16 + HexDigit(rest[i + 2])));
      i += 2;
    } else {
      path.push_back(rest[i]);
    }
  }
  return path;
}

std::string UriOfPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return diagnostics::FileUri(ec ? path : absolute.lexically_normal().string());
}

json Position(const source::Utf16Position& position) {
  return {{"line", position.line}, {"character", position.character}};
}

// Parameters a request cannot be answered with (InvalidParams).
class InvalidParams : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

source::Utf16Position ReadPosition(const json& position) {
  auto number = [&](const char* key) -> std::uint32_t {
    const json& value = position.at(key);
    if (value.is_number_unsigned()) {
      return static_cast<std::uint32_t>(std::min<std::uint64_t>(value.get<std::uint64_t>(), 0xffffffffu));
    }
    if (value.is_number_integer()) return 0;  // negative
    throw InvalidParams(fmt::format("`{}` of a position is a non-negative integer", key));
  };
  return source::Utf16Position{number("line"), number("character")};
}

bool Before(const source::Utf16Position& a, const source::Utf16Position& b) {
  return std::tie(a.line, a.character) < std::tie(b.line, b.character);
}

bool Intersects(const json& a, const json& b) {
  return !Before(ReadPosition(a.at("end")), ReadPosition(b.at("start"))) &&
         !Before(ReadPosition(b.at("end")), ReadPosition(a.at("start")));
}

class Server {
 public:
  Server(int out_fd, std::string version) : out_fd_(out_fd), version_(std::move(version)) {}

  // Handles one message body; false once the server must stop.
  bool Handle(const std::string& body) {
    if (JsonNestsDeeperThan(body, kMaxJsonDepth)) {
      return Reply(json(), RequestError{kParseError, "JSON nests too deeply"});
    }
    json message = json::parse(body, nullptr, false);
    if (message.is_discarded()) return Reply(json(), RequestError{kParseError, "the message is not valid JSON"});
    if (!message.is_object()) return Reply(json(), RequestError{kInvalidRequest, "a message is a JSON object"});
    json id = message.contains("id") ? message["id"] : json();
    const bool has_id = message.contains("id");
    if (has_id && !id.is_number_integer() && !id.is_string()) {
      return Reply(json(), RequestError{kInvalidRequest, "`id` is a number or a string"});
    }
    if (!message.contains("method")) return true;  // a response: the server sends no requests
    if (!message["method"].is_string()) {
      return has_id ? Reply(id, RequestError{kInvalidRequest, "`method` is a string"}) : true;
    }
    const std::string method = message["method"].get<std::string>();
    const json params = message.contains("params") ? message["params"] : json::object();
    if (!has_id) return Notify(method, params);
    return Request(id, method, params);
  }

  // Reports a message whose framing was unusable.
  bool BadFraming(const std::string& problem) {
    std::fprintf(stderr, "govc lsp: %s\n", problem.c_str());
    return Reply(json(), RequestError{kParseError, problem});
  }

  int exit_status() const { return shutdown_ ? 0 : 1; }

 private:
  bool Send(const json& message) {
    if (!WriteMessage(out_fd_, Dump(message))) {
      output_gone_ = true;
      return false;
    }
    return true;
  }

  bool Reply(const json& id, const json& result) { return Send({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}}); }

  bool Reply(const json& id, const RequestError& error) {
    return Send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", error.code}, {"message", error.message}}}});
  }

  bool Notify(const std::string& method, const json& params) {
    if (method == "exit") return false;
    if (!initialized_ || shutdown_) return true;
    try {
      if (method == "textDocument/didOpen") {
        const json& item = params.at("textDocument");
        const std::string uri = item.at("uri").get<std::string>();
        documents_[uri] = Document{PathOfUri(uri), item.at("text").get<std::string>(),
                                   item.contains("version") ? item["version"] : json(), json::array()};
        PublishAll(uri);
      } else if (method == "textDocument/didChange") {
        const std::string uri = params.at("textDocument").at("uri").get<std::string>();
        auto it = documents_.find(uri);
        if (it == documents_.end()) return true;
        for (const json& change : params.at("contentChanges")) ApplyChange(it->second, change);
        if (params.at("textDocument").contains("version")) it->second.version = params["textDocument"]["version"];
        PublishAll(uri);
      } else if (method == "textDocument/didSave") {
        const std::string uri = params.at("textDocument").at("uri").get<std::string>();
        if (documents_.count(uri) != 0) PublishAll(uri);
      } else if (method == "textDocument/didClose") {
        const std::string uri = params.at("textDocument").at("uri").get<std::string>();
        if (documents_.erase(uri) != 0) {
          Send({{"jsonrpc", "2.0"},
                {"method", "textDocument/publishDiagnostics"},
                {"params", {{"uri", uri}, {"diagnostics", json::array()}}}});
          PublishAll("");
        }
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "govc lsp: %s: %s\n", method.c_str(), e.what());
    }
    return !output_gone_;
  }

  bool Request(const json& id, const std::string& method, const json& params) {
    if (method == "initialize") {
      if (initialized_) return Reply(id, RequestError{kInvalidRequest, "the server is already initialized"});
      initialized_ = true;
      return Reply(id, InitializeResult());
    }
    if (!initialized_) return Reply(id, RequestError{kServerNotInitialized, "`initialize` must come first"});
    if (shutdown_) return Reply(id, RequestError{kInvalidRequest, "the server is shutting down"});
    if (method == "shutdown") {
      shutdown_ = true;
      return Reply(id, json());
    }
    using Handler = json (Server::*)(const json&);
    static const std::map<std::string, Handler> kHandlers = {
        {"textDocument/hover", &Server::Hover},           {"textDocument/definition", &Server::Definition},
        {"textDocument/completion", &Server::Completion}, {"textDocument/formatting", &Server::Formatting},
        {"textDocument/codeAction", &Server::CodeAction},
    };
    auto handler = kHandlers.find(method);
    if (handler == kHandlers.end()) {
      return Reply(id, RequestError{kMethodNotFound, fmt::format("no method `{}`", method)});
    }
    try {
      json result = (this->*handler->second)(params);
      return Reply(id, result);
    } catch (const json::exception& e) {
      return Reply(id, RequestError{kInvalidParams, e.what()});
    } catch (const InvalidParams& e) {
      return Reply(id, RequestError{kInvalidParams, e.what()});
    } catch (const std::exception& e) {
      return Reply(id, RequestError{kInternalError, e.what()});
    }
  }

  json InitializeResult() const {
    return {{"capabilities",
             {{"positionEncoding", "utf-16"},
              {"textDocumentSync", {{"openClose", true}, {"change", 1}, {"save", {{"includeText", false}}}}},
              {"hoverProvider", true},
              {"definitionProvider", true},
              {"completionProvider", {{"triggerCharacters", json::array({"."})}}},
              {"documentFormattingProvider", true},
              {"codeActionProvider", {{"codeActionKinds", json::array({"quickfix"})}}}}},
            {"serverInfo", {{"name", "govc"}, {"version", version_}}}};
  }

  // A full text (the sync the server asks for), or a range edit from a client that sends them anyway.
  static void ApplyChange(Document& document, const json& change) {
    const std::string text = change.at("text").get<std::string>();
    if (!change.contains("range")) {
      document.text = text;
      return;
    }
    source::SourceFile file("", document.text);
    std::uint32_t begin = file.OffsetOfUtf16(ReadPosition(change["range"].at("start")));
    std::uint32_t end = file.OffsetOfUtf16(ReadPosition(change["range"].at("end")));
    if (end < begin) std::swap(begin, end);
    document.text.replace(begin, end - begin, text);
  }

  const Document& DocumentOf(const json& params) const {
    const std::string uri = params.at("textDocument").at("uri").get<std::string>();
    auto it = documents_.find(uri);
    if (it == documents_.end()) throw InvalidParams(fmt::format("`{}` is not open", uri));
    return it->second;
  }

  // Compiles an open document with every open document standing in for its file.
  std::unique_ptr<driver::Compilation> Analyze(const Document& document, bool lint, std::string* failure) const {
    if (document.text.size() > source::kMaxSourceBytes) {
      *failure = fmt::format("the file is {} bytes; policy files are limited to {} bytes", document.text.size(),
                             source::kMaxSourceBytes);
      return nullptr;
    }
    driver::SourceOverlay overlay;
    for (const auto& [uri, open] : documents_) overlay[driver::CanonicalSourcePath(open.path)] = open.text;
    std::unique_ptr<driver::Compilation> compilation;
    driver::RunWithLargeStack([&] {
      ErrorOr<std::unique_ptr<driver::Compilation>> result =
          // The symbolic lints lower the policy (compiling its patterns): `govc lint` runs them, not every keystroke.
          lint ? driver::CompileAndLint(document.path, "", overlay, driver::LintDepth::kStructural)
               : driver::Compile(document.path, overlay);
      if (result.ok()) {
        compilation = std::move(result).value();
      } else {
        *failure = result.error().message;
      }
    });
    return compilation;
  }

  // Lints `first` (when open), then every other open document: a change may
  // fix or break the policies that import it.
  void PublishAll(const std::string& first) {
    if (auto it = documents_.find(first); it != documents_.end()) Publish(first, it->second);
    for (auto& [uri, document] : documents_) {
      if (uri != first) Publish(uri, document);
    }
  }

  void Publish(const std::string& uri, Document& document) {
    std::string failure;
    std::unique_ptr<driver::Compilation> c = Analyze(document, true, &failure);
    if (c == nullptr) {
      document.diagnostics = json::array({{{"range", {{"start", Position({})}, {"end", Position({})}}},
                                           {"severity", 1},
                                           {"source", "govc"},
                                           {"message", failure}}});
    } else {
      c->diagnostics.Sort();
      document.diagnostics = diagnostics::RenderLsp(c->sources, c->diagnostics.diagnostics(), c->EntryFile().file_id);
    }
    json params = {{"uri", uri}, {"diagnostics", document.diagnostics}};
    if (document.version.is_number_integer()) params["version"] = document.version;
    Send({{"jsonrpc", "2.0"}, {"method", "textDocument/publishDiagnostics"}, {"params", params}});
  }

  // The compilation of the request's document and the byte offset of its position.
  std::unique_ptr<driver::Compilation> AnalyzeAt(const json& params, std::uint32_t* offset) const {
    const Document& document = DocumentOf(params);
    std::string failure;
    std::unique_ptr<driver::Compilation> c = Analyze(document, false, &failure);
    if (c == nullptr) return nullptr;
    *offset = c->sources.file(c->EntryFile().file_id).OffsetOfUtf16(ReadPosition(params.at("position")));
    return c;
  }

  json Hover(const json& params) {
    std::uint32_t offset = 0;
    std::unique_ptr<driver::Compilation> c = AnalyzeAt(params, &offset);
    if (c == nullptr) return json();
    std::optional<lsp::Hover> hover;
    driver::RunWithLargeStack([&] { hover = HoverAt(*c, offset); });
    if (!hover) return json();
    json result = {{"contents", {{"kind", "markdown"}, {"value", hover->markdown}}}};
    if (hover->span.valid() && hover->span.file == c->EntryFile().file_id) {
      result["range"] = diagnostics::LspRange(c->sources.file(hover->span.file), hover->span);
    }
    return result;
  }

  json Definition(const json& params) {
    std::uint32_t offset = 0;
    std::unique_ptr<driver::Compilation> c = AnalyzeAt(params, &offset);
    if (c == nullptr) return json();
    std::optional<source::Span> target;
    driver::RunWithLargeStack([&] { target = DefinitionAt(*c, offset); });
    if (!target || !target->valid() || target->file >= c->sources.size()) return json();
    const source::SourceFile& file = c->sources.file(target->file);
    return {{"uri", target->file == c->EntryFile().file_id ? UriOfDocument(params) : UriOfPath(file.path())},
            {"range", diagnostics::LspRange(file, *target)}};
  }

  static std::string UriOfDocument(const json& params) {
    return params.at("textDocument").at("uri").get<std::string>();
  }

  json Completion(const json& params) {
    const Document& document = DocumentOf(params);
    source::SourceFile file(document.path, document.text);
    const source::Utf16Position position = ReadPosition(params.at("position"));
    const std::uint32_t offset = file.OffsetOfUtf16(position);
    const std::uint32_t line_start = file.OffsetOfUtf16(source::Utf16Position{position.line, 0});
    const std::string_view prefix = std::string_view(document.text).substr(line_start, offset - line_start);
    std::string failure;
    std::unique_ptr<driver::Compilation> c = Analyze(document, false, &failure);
    json items = json::array();
    for (const lsp::Completion& item : CompletionsAt(c.get(), prefix)) {
      items.push_back({{"label", item.label}, {"kind", static_cast<int>(item.kind)}, {"detail", item.detail}});
    }
    return {{"isIncomplete", false}, {"items", items}};
  }

  // `govc fmt`'s layout as one edit; no edits for a file that does not parse.
  json Formatting(const json& params) {
    const Document& document = DocumentOf(params);
    if (document.text.size() > source::kMaxSourceBytes) return json::array();
    std::optional<std::string> formatted;
    driver::RunWithLargeStack([&] {
      ErrorOr<std::unique_ptr<driver::ParsedFile>> parsed = driver::ParseOnly(document.path, document.text);
      if (!parsed.ok() || parsed.value()->diagnostics.HasErrors()) return;
      driver::ParsedFile& p = *parsed.value();
      formatted = format::FormatFile(p.file, p.sources.file(p.file.file_id));
    });
    if (!formatted || *formatted == document.text) return json::array();
    source::SourceFile file(document.path, document.text);
    json range = {{"start", Position({})},
                  {"end", Position(file.LocateUtf16(static_cast<std::uint32_t>(document.text.size())))}};
    return json::array({{{"range", range}, {"newText", *formatted}}});
  }

  // Quick fixes: the replacements diagnostics carry (a "did you mean").
  json CodeAction(const json& params) {
    const Document& document = DocumentOf(params);
    const std::string uri = UriOfDocument(params);
    const json& range = params.at("range");
    json actions = json::array();
    for (const json& diagnostic : document.diagnostics) {
      if (!diagnostic.contains("data") || !diagnostic["data"].contains("fix")) continue;
      if (!Intersects(diagnostic.at("range"), range)) continue;
      const json& fix = diagnostic["data"]["fix"];
      actions.push_back({{"title", fmt::format("Replace with `{}`", fix.at("newText").get<std::string>())},
                         {"kind", "quickfix"},
                         {"isPreferred", true},
                         {"diagnostics", json::array({diagnostic})},
                         {"edit", {{"changes", {{uri, json::array({fix})}}}}}});
    }
    return actions;
  }

  int out_fd_;
  std::string version_;
  bool initialized_ = false;
  bool shutdown_ = false;
  bool output_gone_ = false;
  std::map<std::string, Document> documents_;
};

}  // namespace

int RunServer(int in_fd, int out_fd, const std::string& version) {
  // A client that goes away must not kill the server mid-write.
  std::signal(SIGPIPE, SIG_IGN);
  MessageReader reader(in_fd);
  Server server(out_fd, version);
  for (;;) {
    MessageReader::Result message = reader.Next();
    switch (message.status) {
      case MessageReader::Status::kEnd:
        return server.exit_status();
      case MessageReader::Status::kBadFraming:
        if (!server.BadFraming(message.problem)) return 1;
        break;
      case MessageReader::Status::kMessage:
        if (!server.Handle(message.body)) return server.exit_status();
        break;
    }
  }
}

}  // namespace gov::lsp
