// Frames and the lossless JSON forms of lineage records (protocol.h).
// nlohmann-json's exceptions stay inside this file.
#include "runtime/service/protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "runtime/request/byte_string.h"
#include "runtime/request/request.h"

namespace gov::service {
namespace {

using Json = nlohmann::json;

// Reads the members of one JSON object strictly: every key must be read
// exactly once (Finish reports the others); the first problem is kept.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) Fail(where_ + " must be an object");
  }

  const Json* Member(const char* key) {
    if (!error_.empty()) return nullptr;
    read_.push_back(key);
    auto found = object_.find(key);
    if (found == object_.end()) {
      Fail(fmt::format("{}.{} is missing", where_, key));
      return nullptr;
    }
    return &*found;
  }

  std::string Bytes(const char* key) {
    const Json* value = Member(key);
    if (value == nullptr) return {};
    auto bytes = request::BytesFromJson(*value, where_ + "." + key);
    if (!bytes.ok()) {
      Fail(bytes.error().message);
      return {};
    }
    return bytes.value();
  }

  std::string Text(const char* key) {
    const Json* value = Member(key);
    if (value == nullptr) return {};
    if (!value->is_string()) {
      Fail(fmt::format("{}.{} must be a string", where_, key));
      return {};
    }
    return value->get<std::string>();
  }

  std::int64_t Int(const char* key) {
    const Json* value = Member(key);
    if (value == nullptr) return 0;
    if (!value->is_number_integer()) {
      Fail(fmt::format("{}.{} must be an integer", where_, key));
      return 0;
    }
    if (value->is_number_unsigned() && value->get<std::uint64_t>() > INT64_MAX) {
      Fail(fmt::format("{}.{} is out of range", where_, key));
      return 0;
    }
    return value->get<std::int64_t>();
  }

  std::uint64_t Unsigned(const char* key) {
    const Json* value = Member(key);
    if (value == nullptr) return 0;
    if (!value->is_number_unsigned()) {
      Fail(fmt::format("{}.{} must be a non-negative integer", where_, key));
      return 0;
    }
    return value->get<std::uint64_t>();
  }

  bool Bool(const char* key) {
    const Json* value = Member(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) {
      Fail(fmt::format("{}.{} must be true or false", where_, key));
      return false;
    }
    return value->get<bool>();
  }

  std::vector<std::string> BytesList(const char* key) {
    std::vector<std::string> out;
    const Json* value = Member(key);
    if (value == nullptr) return out;
    if (!value->is_array()) {
      Fail(fmt::format("{}.{} must be an array", where_, key));
      return out;
    }
    for (const Json& item : *value) {
      auto bytes = request::BytesFromJson(item, where_ + "." + key);
      if (!bytes.ok()) {
        Fail(bytes.error().message);
        return out;
      }
      out.push_back(std::move(bytes).value());
    }
    return out;
  }

  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  // The first problem, including keys nobody read.
  ErrorOr<void> Finish() {
    if (error_.empty()) {
      for (const auto& [key, value] : object_.items()) {
        if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
          Fail(fmt::format("{} has an unknown key '{}'", where_, key));
        }
      }
    }
    if (!error_.empty()) return Error{error_};
    return {};
  }

 private:
  const Json& object_;
  std::string where_;
  std::vector<std::string_view> read_;  // the keys asked for (a record has a few dozen)
  std::string error_;
};

Json BytesListToJson(const std::vector<std::string>& list) {
  Json out = Json::array();
  for (const std::string& item : list) out.push_back(request::BytesToJson(item));
  return out;
}

Json ObligationsToWire(const ir::Obligations& obligations) {
  return {{"timeout_ms", obligations.timeout_ms},
          {"memory_bytes", obligations.memory_bytes},
          {"processes", obligations.processes},
          {"network", static_cast<int>(obligations.network)},
          {"has_read", obligations.has_read},
          {"read", BytesListToJson(obligations.read)},
          {"has_write", obligations.has_write},
          {"write", BytesListToJson(obligations.write)},
          {"has_env", obligations.has_env},
          {"env", BytesListToJson(obligations.env)},
          {"has_capabilities", obligations.has_capabilities},
          {"capabilities", BytesListToJson(obligations.capabilities)},
          {"has_create", obligations.has_create},
          {"create", BytesListToJson(obligations.create)},
          {"private_tmp", obligations.private_tmp}};
}

ir::Obligations ObligationsFromWire(ObjectReader& reader) {
  ir::Obligations out;
  out.timeout_ms = reader.Int("timeout_ms");
  out.memory_bytes = reader.Int("memory_bytes");
  out.processes = reader.Int("processes");
  const std::int64_t network = reader.Int("network");
  if (network < 0 || network > static_cast<int>(ir::Network::kAny)) reader.Fail("obligations.network is out of range");
  out.network = static_cast<ir::Network>(network);
  out.has_read = reader.Bool("has_read");
  out.read = reader.BytesList("read");
  out.has_write = reader.Bool("has_write");
  out.write = reader.BytesList("write");
  out.has_env = reader.Bool("has_env");
  out.env = reader.BytesList("env");
  out.has_capabilities = reader.Bool("has_capabilities");
  out.capabilities = reader.BytesList("capabilities");
  out.has_create = reader.Bool("has_create");
  out.create = reader.BytesList("create");
  out.private_tmp = reader.Bool("private_tmp");
  return out;
}

template <typename T>
ErrorOr<T> Decoded(T value, ObjectReader& reader) {
  GOV_RETURN_IF_ERROR(reader.Finish());
  return value;
}

}  // namespace

ErrorOr<std::string> EncodeFrame(std::string_view payload) {
  if (payload.size() > kMaxFrameBytes) {
    return Error{
        fmt::format("a message of {} bytes is over the protocol's limit of {}", payload.size(), kMaxFrameBytes)};
  }
  const auto size = static_cast<std::uint32_t>(payload.size());
  std::string frame;
  frame.reserve(4 + payload.size());
  for (int shift = 0; shift < 32; shift += 8) frame.push_back(static_cast<char>((size >> shift) & 0xff));
  frame.append(payload);
  return frame;
}

ErrorOr<bool> TakeFrame(std::string& buffer, std::string& payload) {
  if (buffer.size() < 4) return false;
  std::uint32_t size = 0;
  for (int i = 0; i < 4; ++i) size |= static_cast<std::uint32_t>(static_cast<unsigned char>(buffer[i])) << (8 * i);
  if (size > kMaxFrameBytes) {
    return Error{fmt::format("a message announces {} bytes, over the protocol's limit of {}", size, kMaxFrameBytes)};
  }
  if (buffer.size() - 4 < size) return false;
  payload.assign(buffer, 4, size);
  buffer.erase(0, 4 + static_cast<std::size_t>(size));
  return true;
}

Json AuthorizationToJson(const lineage::Authorization& record) {
  Json fields = Json::array();
  for (const ir::ContextField& field : record.context_fields) {
    fields.push_back({{"name", request::BytesToJson(field.name)},
                      {"kind", static_cast<int>(field.kind)},
                      {"optional", field.optional},
                      {"spelling", static_cast<int>(field.spelling)}});
  }
  Json rules = Json::array();
  for (const lineage::RecordedRule& rule : record.rules) {
    rules.push_back({{"id", rule.id},
                     {"name", request::BytesToJson(rule.name)},
                     {"verdict", rule.verdict},
                     {"reason", request::BytesToJson(rule.reason)}});
  }
  return {{"run_id", record.run_id},
          {"parent_run_id", record.parent_run_id},
          {"context_fields", fields},
          {"request", request::RequestToJsonValue(record.request, record.context_fields)},
          {"env_in_clear", BytesListToJson(record.env_in_clear)},
          {"env_all_in_clear", record.env_all_in_clear},
          {"interpreter_path", request::BytesToJson(record.interpreter_path)},
          {"interpreter_sha256", record.interpreter_sha256},
          {"policy_digest", record.policy_digest},
          {"policy_name", request::BytesToJson(record.policy_name)},
          {"policy_version", request::BytesToJson(record.policy_version)},
          {"engine", record.engine},
          {"verdict", record.verdict},
          {"error", record.error},
          {"rules", rules},
          {"obligations", ObligationsToWire(record.obligations)},
          {"ask_answer", record.ask_answer},
          {"execute", record.execute}};
}

ErrorOr<lineage::Authorization> AuthorizationFromJson(const Json& json) {
  lineage::Authorization out;
  ObjectReader reader(json, "authorization");
  out.run_id = reader.Text("run_id");
  out.parent_run_id = reader.Text("parent_run_id");
  if (const Json* fields = reader.Member("context_fields"); fields != nullptr) {
    if (!fields->is_array()) reader.Fail("authorization.context_fields must be an array");
    for (const Json& item : fields->is_array() ? *fields : Json::array()) {
      ObjectReader field_reader(item, "authorization.context_fields[]");
      ir::ContextField field{};
      field.name = field_reader.Bytes("name");
      const std::int64_t kind = field_reader.Int("kind");
      if (kind < 0 || kind > static_cast<int>(ir::Kind::kStrMap)) field_reader.Fail("context field kind out of range");
      field.kind = static_cast<ir::Kind>(kind);
      field.optional = field_reader.Bool("optional");
      const std::int64_t spelling = field_reader.Int("spelling");
      if (spelling < 0 || spelling > static_cast<int>(ir::ContextField::Spelling::kDigest)) {
        field_reader.Fail("context field spelling out of range");
      }
      field.spelling = static_cast<ir::ContextField::Spelling>(spelling);
      if (auto done = field_reader.Finish(); !done.ok()) reader.Fail(done.error().message);
      out.context_fields.push_back(std::move(field));
    }
  }
  if (const Json* request = reader.Member("request"); request != nullptr) {
    auto parsed = request::RequestFromJsonValue(*request, out.context_fields);
    if (!parsed.ok()) {
      reader.Fail("authorization.request: " + parsed.error().message);
    } else {
      out.request = std::move(parsed).value();
    }
  }
  out.env_in_clear = reader.BytesList("env_in_clear");
  out.env_all_in_clear = reader.Bool("env_all_in_clear");
  out.interpreter_path = reader.Bytes("interpreter_path");
  out.interpreter_sha256 = reader.Text("interpreter_sha256");
  out.policy_digest = reader.Text("policy_digest");
  out.policy_name = reader.Bytes("policy_name");
  out.policy_version = reader.Bytes("policy_version");
  out.engine = reader.Text("engine");
  out.verdict = reader.Text("verdict");
  out.error = reader.Text("error");
  if (const Json* rules = reader.Member("rules"); rules != nullptr) {
    if (!rules->is_array()) reader.Fail("authorization.rules must be an array");
    for (const Json& item : rules->is_array() ? *rules : Json::array()) {
      ObjectReader rule_reader(item, "authorization.rules[]");
      lineage::RecordedRule rule;
      const std::uint64_t id = rule_reader.Unsigned("id");
      if (id > UINT32_MAX) rule_reader.Fail("rule id out of range");
      rule.id = static_cast<std::uint32_t>(id);
      rule.name = rule_reader.Bytes("name");
      rule.verdict = rule_reader.Text("verdict");
      rule.reason = rule_reader.Bytes("reason");
      if (auto done = rule_reader.Finish(); !done.ok()) reader.Fail(done.error().message);
      out.rules.push_back(std::move(rule));
    }
  }
  if (const Json* obligations = reader.Member("obligations"); obligations != nullptr) {
    ObjectReader obligations_reader(*obligations, "authorization.obligations");
    out.obligations = ObligationsFromWire(obligations_reader);
    if (auto done = obligations_reader.Finish(); !done.ok()) reader.Fail(done.error().message);
  }
  out.ask_answer = reader.Text("ask_answer");
  out.execute = reader.Bool("execute");
  return Decoded(std::move(out), reader);
}

Json StartToJson(const lineage::Start& record) {
  Json limits = Json::array();
  for (const lineage::EnforcedLimit& limit : record.limits) {
    limits.push_back({{"obligation", limit.obligation},
                      {"mechanism", request::BytesToJson(limit.mechanism)},
                      {"value", request::BytesToJson(limit.value)}});
  }
  return {{"run_id", record.run_id},
          {"pid", record.pid},
          {"time_unix_ns", record.time_unix_ns},
          {"limits", limits},
          {"supervisor_pid", record.supervisor_pid},
          {"supervisor_start_time", record.supervisor_start_time},
          {"boot_id", request::BytesToJson(record.boot_id)},
          {"depth", record.depth},
          {"program", request::BytesToJson(record.program)},
          {"decision_ns", record.decision_ns},
          {"exec_latency_ns", record.exec_latency_ns}};
}

ErrorOr<lineage::Start> StartFromJson(const Json& json) {
  lineage::Start out;
  ObjectReader reader(json, "start");
  out.run_id = reader.Text("run_id");
  out.pid = reader.Int("pid");
  out.time_unix_ns = reader.Int("time_unix_ns");
  if (const Json* limits = reader.Member("limits"); limits != nullptr) {
    if (!limits->is_array()) reader.Fail("start.limits must be an array");
    for (const Json& item : limits->is_array() ? *limits : Json::array()) {
      ObjectReader limit_reader(item, "start.limits[]");
      lineage::EnforcedLimit limit;
      limit.obligation = limit_reader.Text("obligation");
      limit.mechanism = limit_reader.Bytes("mechanism");
      limit.value = limit_reader.Bytes("value");
      if (auto done = limit_reader.Finish(); !done.ok()) reader.Fail(done.error().message);
      out.limits.push_back(std::move(limit));
    }
  }
  out.supervisor_pid = reader.Int("supervisor_pid");
  out.supervisor_start_time = reader.Unsigned("supervisor_start_time");
  out.boot_id = reader.Bytes("boot_id");
  out.depth = reader.Int("depth");
  out.program = reader.Bytes("program");
  out.decision_ns = reader.Int("decision_ns");
  out.exec_latency_ns = reader.Int("exec_latency_ns");
  if (out.decision_ns < 0 || out.exec_latency_ns < 0) reader.Fail("start.decision_ns and exec_latency_ns must be >= 0");
  return Decoded(std::move(out), reader);
}

Json EndToJson(const lineage::End& record) {
  return {{"run_id", record.run_id},
          {"time_unix_ns", record.time_unix_ns},
          {"duration_ns", record.duration_ns},
          {"exited", record.exited},
          {"exit_status", record.exit_status},
          {"signal", record.signal},
          {"killed_by", record.killed_by},
          {"user_cpu_us", record.user_cpu_us},
          {"system_cpu_us", record.system_cpu_us},
          {"max_rss_kib", record.max_rss_kib},
          {"exec_error", request::BytesToJson(record.exec_error)},
          {"replaced_by", record.replaced_by}};
}

ErrorOr<lineage::End> EndFromJson(const Json& json) {
  lineage::End out;
  ObjectReader reader(json, "end");
  out.run_id = reader.Text("run_id");
  out.time_unix_ns = reader.Int("time_unix_ns");
  out.duration_ns = reader.Int("duration_ns");
  out.exited = reader.Bool("exited");
  const std::int64_t status = reader.Int("exit_status");
  const std::int64_t signal = reader.Int("signal");
  if (status < INT32_MIN || status > INT32_MAX || signal < 0 || signal > 1024) {
    reader.Fail("end.exit_status or end.signal is out of range");
  }
  out.exit_status = static_cast<int>(status);
  out.signal = static_cast<int>(signal);
  out.killed_by = reader.Text("killed_by");
  out.user_cpu_us = reader.Int("user_cpu_us");
  out.system_cpu_us = reader.Int("system_cpu_us");
  out.max_rss_kib = reader.Int("max_rss_kib");
  out.exec_error = reader.Bytes("exec_error");
  out.replaced_by = reader.Text("replaced_by");
  return Decoded(std::move(out), reader);
}

}  // namespace gov::service
