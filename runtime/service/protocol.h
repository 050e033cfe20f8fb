// The protocol between govrun (and its session supervisor) and govd, the
// lineage service (docs/govd.md "Protocol"): frames on a Unix stream socket,
// each a 4-byte little-endian length and that many bytes of JSON; the
// records of runtime/lineage/recorder.h in a lossless JSON form.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"

namespace gov::service {

// The longest frame either side accepts (a request's argv and environment
// can reach the kernel's ARG_MAX several times over in pathological cases;
// anything longer is refused, never truncated).
inline constexpr std::uint32_t kMaxFrameBytes = 64u << 20;

// The protocol version both sides name in their first frame.
// 2: obligations carry `create` and `private_tmp`.
inline constexpr int kProtocolVersion = 2;

// Frames `payload` (length prefix + bytes). Payloads over kMaxFrameBytes
// are the caller's error (EncodeFrame returns an Error).
ErrorOr<std::string> EncodeFrame(std::string_view payload);

// Splits complete frames off the front of `buffer`: returns true and moves
// one payload into `payload` when a whole frame is buffered, false when
// more bytes are needed; an Error for a length over kMaxFrameBytes.
ErrorOr<bool> TakeFrame(std::string& buffer, std::string& payload);

// Lossless JSON forms of the records (every field, byte strings as in
// docs/request.md). Decoding is strict: unknown or missing keys, wrong types
// and out-of-range enums are errors naming the field.
nlohmann::json AuthorizationToJson(const lineage::Authorization& record);
ErrorOr<lineage::Authorization> AuthorizationFromJson(const nlohmann::json& json);
nlohmann::json StartToJson(const lineage::Start& record);
ErrorOr<lineage::Start> StartFromJson(const nlohmann::json& json);
nlohmann::json EndToJson(const lineage::End& record);
ErrorOr<lineage::End> EndFromJson(const nlohmann::json& json);

}  // namespace gov::service
