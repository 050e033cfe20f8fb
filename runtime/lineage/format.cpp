// Record HEAD parsing and writing, digests, ids and DSSE PAE.
#include "runtime/lineage/format.h"

#include <sys/random.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"

namespace gov::lineage {
namespace {

// HEAD keys in canonical (bytewise ascending) order, with their bit.
enum Key : unsigned {
  kBody = 1u << 0,
  kExec = 1u << 1,
  kLog = 1u << 2,
  kParent = 1u << 3,
  kPolicy = 1u << 4,
  kPrev = 1u << 5,
  kRun = 1u << 6,
  kSeq = 1u << 7,
  kType = 1u << 8,
  kV = 1u << 9,
  kVerdict = 1u << 10,
};

constexpr unsigned kCommon = kBody | kLog | kPrev | kSeq | kType | kV;

unsigned RequiredKeys(RecordType type) {
  switch (type) {
    case RecordType::kAuthorization:
      return kCommon | kExec | kParent | kPolicy | kRun | kVerdict;
    case RecordType::kStart:
    case RecordType::kEnd:
      return kCommon | kRun;
    default:
      return kCommon;
  }
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// True when every one of the `n` bytes at `p` is a lower-case hex digit;
// 16 bytes at a time where SSE2 is (every x86-64): verifying a log checks
// about 250 digits per record.
bool AllLowerHex(const char* p, std::size_t n) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0');
  const __m128i a = _mm_set1_epi8('a');
  const __m128i nine = _mm_set1_epi8(9);
  const __m128i five = _mm_set1_epi8(5);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i digit = _mm_sub_epi8(v, zero);  // 0..9 for '0'..'9' (unsigned)
    const __m128i letter = _mm_sub_epi8(v, a);    // 0..5 for 'a'..'f'
    const __m128i ok = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(digit, nine), digit),
                                    _mm_cmpeq_epi8(_mm_min_epu8(letter, five), letter));
    if (_mm_movemask_epi8(ok) != 0xFFFF) return false;
  }
#endif
  for (; i < n; ++i) {
    if (!IsLowerHex(p[i])) return false;
  }
  return true;
}

bool IsDigest(std::string_view text) {
  return text.size() == 71 && text.substr(0, 7) == "sha256:" && AllLowerHex(text.data() + 7, 64);
}

}  // namespace

const char* RecordTypeName(RecordType type) {
  switch (type) {
    case RecordType::kHeader:
      return "header";
    case RecordType::kAuthorization:
      return "authorization";
    case RecordType::kStart:
      return "start";
    case RecordType::kEnd:
      return "end";
    case RecordType::kCheckpoint:
      return "checkpoint";
    case RecordType::kRecovery:
      return "recovery";
  }
  return "?";
}

bool IsId(std::string_view text) {
  return text.size() == 32 && AllLowerHex(text.data(), 32);
}

std::string NewId() {
  std::array<std::uint8_t, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // the kernel CSPRNG is unavailable: no safe id can be made
    }
    got += static_cast<std::size_t>(n);
  }
  return crypto::HexEncode(bytes);
}

std::string DigestOf(std::string_view bytes) {
  return crypto::DigestString(crypto::FastSha256(bytes));
}

std::string Pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

ErrorOr<Head> ParseHead(std::string_view text) {
  Head head;
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto fail = [&](const char* why) { return Error{std::string("HEAD: ") + why + " at byte " + std::to_string(i)}; };
  if (n == 0 || text[0] != '{') return fail("expected '{'");
  ++i;
  unsigned seen = 0;
  int last_key = -1;
  std::string_view type_text;
  bool have_v = false;
  while (true) {
    if (i >= n || text[i] != '"') return fail("expected a key");
    std::size_t key_start = ++i;
    while (i < n && text[i] != '"') {
      if (text[i] < 'a' || text[i] > 'z') return fail("unexpected character in key");
      ++i;
    }
    if (i >= n) return fail("unterminated key");
    std::string_view key = text.substr(key_start, i - key_start);
    ++i;
    if (i >= n || text[i] != ':') return fail("expected ':'");
    ++i;
    static constexpr std::string_view kKeys[] = {"body", "exec", "log",  "parent", "policy", "prev",
                                                 "run",  "seq",  "type", "v",      "verdict"};
    // Keys come in canonical order: look after the last one first.
    int index = -1;
    for (int k = last_key + 1; k < 11 && index < 0; ++k) {
      if (kKeys[k] == key) index = k;
    }
    if (index < 0) {
      for (int k = 0; k <= last_key; ++k) {
        if (kKeys[k] == key) return fail("keys not in canonical order or repeated");
      }
      return fail("unknown key");
    }
    last_key = index;
    seen |= 1u << index;
    if (i >= n) return fail("expected a value");
    if (text[i] == '"') {
      std::size_t value_start = ++i;
      while (i < n && text[i] != '"') {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x21 || c > 0x7e || c == '\\') return fail("unexpected character in string");
        ++i;
      }
      if (i >= n) return fail("unterminated string");
      std::string_view value = text.substr(value_start, i - value_start);
      ++i;
      switch (1u << index) {
        case kBody:
          head.body = value;
          break;
        case kLog:
          head.log = value;
          break;
        case kParent:
          head.parent = value;
          break;
        case kPolicy:
          head.policy = value;
          break;
        case kPrev:
          head.prev = value;
          break;
        case kRun:
          head.run = value;
          break;
        case kType:
          type_text = value;
          break;
        case kVerdict:
          head.verdict = value;
          break;
        default:
          return fail("string value for a non-string key");
      }
    } else if (text[i] >= '0' && text[i] <= '9') {
      std::size_t value_start = i;
      std::uint64_t value = 0;
      while (i < n && text[i] >= '0' && text[i] <= '9') {
        if (i - value_start >= 18) return fail("number too large");
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
        ++i;
      }
      if (text[value_start] == '0' && i - value_start > 1) return fail("leading zero");
      if ((1u << index) == kSeq) {
        head.seq = value;
      } else if ((1u << index) == kV) {
        if (value != 1) return fail("unsupported version");
        have_v = true;
      } else {
        return fail("number value for a non-number key");
      }
    } else if (text.substr(i, 4) == "true" || text.substr(i, 5) == "false") {
      if ((1u << index) != kExec) return fail("boolean value for a non-boolean key");
      head.exec = text[i] == 't';
      i += head.exec ? 4 : 5;
    } else {
      return fail("unexpected value");
    }
    if (i >= n) return fail("unterminated object");
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] == '}') {
      ++i;
      break;
    }
    return fail("expected ',' or '}'");
  }
  if (i != n) return fail("bytes after the object");
  if (type_text == "header") {
    head.type = RecordType::kHeader;
  } else if (type_text == "authorization") {
    head.type = RecordType::kAuthorization;
  } else if (type_text == "start") {
    head.type = RecordType::kStart;
  } else if (type_text == "end") {
    head.type = RecordType::kEnd;
  } else if (type_text == "checkpoint") {
    head.type = RecordType::kCheckpoint;
  } else if (type_text == "recovery") {
    head.type = RecordType::kRecovery;
  } else {
    return fail("unknown or missing type");
  }
  if (seen != RequiredKeys(head.type)) return Error{"HEAD: wrong set of keys for its type"};
  if (!have_v) return Error{"HEAD: missing v"};
  if (!IsDigest(head.body) || !IsDigest(head.prev)) return Error{"HEAD: body and prev must be sha256 digests"};
  if (!IsId(head.log)) return Error{"HEAD: log must be 32 lower-case hex digits"};
  if (head.type == RecordType::kAuthorization || head.type == RecordType::kStart ||
      head.type == RecordType::kEnd) {
    if (!IsId(head.run)) return Error{"HEAD: run must be 32 lower-case hex digits"};
  }
  if (head.type == RecordType::kAuthorization) {
    if (!head.parent.empty() && !IsId(head.parent)) return Error{"HEAD: parent must be empty or a run id"};
    if (!IsDigest(head.policy)) return Error{"HEAD: policy must be a sha256 digest"};
    if (head.verdict != "allow" && head.verdict != "deny" && head.verdict != "ask") {
      return Error{"HEAD: verdict must be allow, deny or ask"};
    }
    if (head.exec && head.verdict == "deny") return Error{"HEAD: a denied run cannot be executed"};
  }
  return head;
}

std::string HeadText(const Head& head) {
  std::string out;
  out.reserve(320);
  auto str = [&](std::string_view key, std::string_view value, bool first = false) {
    if (!first) out += ',';
    out += '"';
    out += key;
    out += "\":\"";
    out += value;
    out += '"';
  };
  out += '{';
  str("body", head.body, true);
  const bool auth = head.type == RecordType::kAuthorization;
  const bool has_run = auth || head.type == RecordType::kStart || head.type == RecordType::kEnd;
  if (auth) out += head.exec ? ",\"exec\":true" : ",\"exec\":false";
  str("log", head.log);
  if (auth) {
    str("parent", head.parent);
    str("policy", head.policy);
  }
  str("prev", head.prev);
  if (has_run) str("run", head.run);
  out += ",\"seq\":";
  out += std::to_string(head.seq);
  str("type", RecordTypeName(head.type));
  out += ",\"v\":1";
  if (auth) str("verdict", head.verdict);
  out += '}';
  return out;
}

}  // namespace gov::lineage
