// The bundle loader (see loader.h): verification order, IR decoding, native
// code mapped from the verified code image (no dynamic linker), interpreter
// fallback, the interpreter's prepared form on demand.
#include "runtime/bundle/loader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "runtime/abi/helpers.h"
#include "runtime/bundle/host_cpu.h"
#include "runtime/ir/serialize.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace gov::bundle {

struct LoadedPolicy::State {
  Manifest manifest;
  std::optional<crypto::PublicKey> signer;
  std::string digest;
  // The IR's bytes: in `storage`, which holds either the whole bundle file
  // (LoadBundleFile hands its buffer over) or a copy of the IR (the
  // caller's buffer may go); and the view of them that native decisions
  // need (rule records, context, env reads).
  std::string storage;
  std::string_view ir_bytes;
  std::optional<ir::PolicyView> view;
  // The decoded, validated IR: at load (LoadOptions::decode_ir, or when the
  // interpreter decides), else on the first policy() / Prepare() call.
  // Moved into `prepared` when the interpreter decides.
  mutable std::once_flag decode_once;
  mutable std::optional<ir::Policy> policy;
  mutable std::string decode_error;
  // The interpreter's form: made at load when it decides, else on the first
  // prepared() / Prepare() call.
  mutable std::once_flag prepare_once;
  mutable std::optional<interp::PreparedPolicy> prepared;
  mutable std::string prepare_error;
  std::string engine;
  // Native code: the private mapping holding the image, and its entry point.
  void* mapping = nullptr;
  std::size_t mapping_size = 0;
  gov_decide_fn decide = nullptr;
  std::uint64_t image_id = 0;  // abi::NewCodeImageId() of the mapping

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (mapping != nullptr) {
      munmap(mapping, mapping_size);
    }
  }

  // The decoded IR, decoding it first if needed; null (with decode_error
  // set) when it does not decode.
  const ir::Policy* Decoded() const {
    std::call_once(decode_once, [this] {
      if (policy || prepared) return;
      auto decoded = ir::Deserialize(ir_bytes);
      if (decoded.ok()) {
        policy.emplace(std::move(decoded).value());
      } else {
        decode_error = "bundle IR: " + decoded.error().message;
      }
    });
    if (policy) return &*policy;
    // Empty `policy` with `prepared` set happens only when the interpreter
    // decides: then `prepared` was made at load and owns the IR.
    return prepared ? &prepared->policy() : nullptr;
  }
};

namespace {

std::size_t RoundUp(std::uint64_t value, std::size_t page) {
  return static_cast<std::size_t>((value + page - 1) / page * page);
}

// The data segment with every fixup applied for a mapping at `base`.
std::string RelocatedData(const CodeImage& image, std::uintptr_t base) {
  std::string data(image.data);
  for (std::size_t i = 0; i < image.fixup_count(); ++i) {
    char* slot = data.data() + (image.fixup(i) - image.data_offset);  // inside the data (ParseCodeImage)
    std::uint64_t value = 0;
    std::memcpy(&value, slot, sizeof value);
    value += base;
    std::memcpy(slot, &value, sizeof value);
  }
  return data;
}

// Writes `parts` to `fd` back to back from offset 0, with one pwritev call
// when nothing interrupts it.
ErrorOr<void> WriteAllAt0(int fd, std::vector<std::string_view> parts) {
  off_t offset = 0;
  while (!parts.empty()) {
    iovec vectors[4];
    const std::size_t count = std::min<std::size_t>(parts.size(), 4);
    for (std::size_t i = 0; i < count; ++i) {
      vectors[i] = {const_cast<char*>(parts[i].data()), parts[i].size()};
    }
    const ssize_t wrote = pwritev(fd, vectors, static_cast<int>(count), offset);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return Error{std::string("cannot write the code to a memfd: ") + std::strerror(errno)};
    offset += wrote;
    auto left = static_cast<std::size_t>(wrote);
    while (!parts.empty() && left >= parts.front().size()) {
      left -= parts.front().size();
      parts.erase(parts.begin());
    }
    if (left > 0) parts.front().remove_prefix(left);
  }
  return {};
}

// The fast path: the relocated image is written to a sealed memfd (page
// cache, no page faults here) and mapped over the PROT_NONE `reservation`
// at its final protections, prefaulted (MAP_POPULATE): code read+execute,
// data read-only, the gap stays inaccessible. Page-table updates are what
// cost in VMs; this path makes each page's entry once. The file holds the
// code's pages, then the data's (one write, no hole for the gap). On failure
// the reservation is left as it was (PROT_NONE, possibly partly remapped).
ErrorOr<void> MapThroughMemfd(const CodeImage& image, unsigned char* reservation, std::size_t page) {
  int fd = memfd_create("gov-policy-code", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) {
    fd = memfd_create("gov-policy-code", MFD_CLOEXEC | MFD_ALLOW_SEALING);  // kernels before 6.3
  }
  if (fd < 0) return Error{std::string("memfd_create failed: ") + std::strerror(errno)};
  auto mapped = [&]() -> ErrorOr<void> {
    const std::size_t code_pages = RoundUp(image.code_size, page);
    // Data without fixups is written as verified; with fixups, relocated.
    std::string relocated;
    std::string_view data = image.data;
    if (image.fixup_count() > 0) {
      relocated = RelocatedData(image, reinterpret_cast<std::uintptr_t>(reservation));
      data = relocated;
    }
    // Padding to the data's page: less than a page, at most the largest page
    // size (kImageSegmentAlign); only the bytes used are ever touched.
    static const char kZeros[kImageSegmentAlign] = {};
    if (data.empty()) {
      GOV_RETURN_IF_ERROR(WriteAllAt0(fd, {image.code}));
    } else {
      GOV_RETURN_IF_ERROR(
          WriteAllAt0(fd, {image.code, std::string_view(kZeros, code_pages - image.code.size()), data}));
    }
    // Nobody can change the bytes from now on, not even through /proc/self/fd.
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      return Error{std::string("cannot seal the memfd: ") + std::strerror(errno)};
    }
    if (mmap(reservation, code_pages, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) ==
        MAP_FAILED) {
      return Error{std::string("cannot map the code: ") + std::strerror(errno)};
    }
    if (!data.empty() &&
        mmap(reservation + image.data_offset, RoundUp(image.data_size, page), PROT_READ,
             MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, static_cast<off_t>(code_pages)) == MAP_FAILED) {
      return Error{std::string("cannot map the code's data: ") + std::strerror(errno)};
    }
    return {};
  }();
  close(fd);
  return mapped;
}

// The fallback (no memfd, or exec from memfds forbidden, e.g. by
// vm.memfd_noexec): the reservation made read+write, the pages prefaulted
// (one call per segment instead of a fault per page), code and relocated data
// copied, then code read+execute and the rest read-only.
ErrorOr<void> MapAnonymous(const CodeImage& image, unsigned char* base, std::size_t size, std::size_t page) {
  if (mprotect(base, size, PROT_READ | PROT_WRITE) != 0) {
    return Error{std::string("cannot make the code mapping writable: ") + std::strerror(errno)};
  }
  // Only a speed-up, so the result is ignored (kernels before 5.14 lack it).
  madvise(base, RoundUp(image.code_size, page), MADV_POPULATE_WRITE);
  std::memcpy(base, image.code.data(), image.code.size());
  if (!image.data.empty()) {
    madvise(base + image.data_offset, RoundUp(image.data_size, page), MADV_POPULATE_WRITE);
    const std::string data = RelocatedData(image, reinterpret_cast<std::uintptr_t>(base));
    std::memcpy(base + image.data_offset, data.data(), data.size());
  }
  const std::size_t code_end = RoundUp(image.code_size, page);
  if (mprotect(base, code_end, PROT_READ | PROT_EXEC) != 0 ||
      (size > code_end && mprotect(base + code_end, size - code_end, PROT_READ) != 0)) {
    return Error{std::string("cannot protect the code mapping: ") + std::strerror(errno)};
  }
  return {};
}

// Maps the verified `image` at a fresh address: code read+execute, data
// read-only, never writable and executable at once, copied from the
// verified bytes (so what runs is what was verified). On success sets the
// outputs; on failure leaves nothing mapped and says why.
ErrorOr<void> MapCodeImage(const CodeImage& image, bool through_memfd, void*& mapping_out, std::size_t& size_out,
                           gov_decide_fn& decide_out) {
  if (image.machine != HostMachine()) {
    return Error{"the code is for " + MachineName(image.machine) + ", this machine is " + MachineName(HostMachine())};
  }
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0 || kImageSegmentAlign % static_cast<std::uint64_t>(page_size) != 0) {
    return Error{"unsupported page size " + std::to_string(page_size)};
  }
  const auto page = static_cast<std::size_t>(page_size);
  const std::size_t size = RoundUp(image.mapped_size(), page);
  void* mapping = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) {
    return Error{std::string("cannot reserve ") + std::to_string(size) +
                 " bytes for the code: " + std::strerror(errno)};
  }
  auto* base = static_cast<unsigned char*>(mapping);
  if (auto fast = through_memfd ? MapThroughMemfd(image, base, page) : ErrorOr<void>(Error{"memfd not used"});
      !fast.ok()) {
    // Start again from a clean reservation.
    munmap(mapping, size);
    mapping = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) {
      return Error{std::string("cannot reserve ") + std::to_string(size) +
                   " bytes for the code: " + std::strerror(errno)};
    }
    base = static_cast<unsigned char*>(mapping);
    if (auto slow = MapAnonymous(image, base, size, page); !slow.ok()) {
      munmap(mapping, size);
      return Error{fast.error().message + "; " + slow.error().message};
    }
  }
#if defined(__aarch64__)
  __builtin___clear_cache(reinterpret_cast<char*>(base), reinterpret_cast<char*>(base + image.code_size));
#endif
  mapping_out = mapping;
  size_out = size;
  decide_out = reinterpret_cast<gov_decide_fn>(base + image.entry);
  return {};
}

}  // namespace

LoadedPolicy::LoadedPolicy(std::unique_ptr<State> state) : state_(std::move(state)) {}
LoadedPolicy::LoadedPolicy(LoadedPolicy&&) noexcept = default;
LoadedPolicy& LoadedPolicy::operator=(LoadedPolicy&&) noexcept = default;
LoadedPolicy::~LoadedPolicy() = default;

std::uint32_t LoadedPolicy::Decide(const gov_request& request, gov_decision& decision) const {
  if (state_->decide != nullptr) {  // writes every field of `decision` (docs/abi.md)
    abi::CodeImageScope image(state_->image_id);
    return state_->decide(&request, &decision, abi::DefaultHelpers());
  }
  return interp::Decide(*state_->prepared, request, decision);
}

const ir::Policy& LoadedPolicy::policy() const {
  const ir::Policy* decoded = state_->Decoded();
  if (decoded == nullptr) {
    // Fail closed: there is no policy to hand out (see loader.h).
    std::fprintf(stderr, "gov: cannot decode the policy: %s\n", state_->decode_error.c_str());
    std::abort();
  }
  return *decoded;
}
const ir::PolicyView& LoadedPolicy::view() const {
  return *state_->view;
}
ErrorOr<interp::RuleSubset> LoadedPolicy::RulesOf(const gov_decision& decision) const {
  interp::RuleSubset subset;
  auto add = [&](std::uint32_t id) -> ErrorOr<void> {
    if (id >= state_->view->rule_count()) return {};  // not a rule: Explain and MergeObligations skip it
    for (const auto& [known, rule] : subset.rules) {
      if (known == id) return {};
    }
    GOV_ASSIGN_OR_RETURN(ir::Rule rule, state_->view->RuleAt(id));
    subset.rules.emplace_back(id, std::move(rule));
    return {};
  };
  const std::uint32_t count = std::min<std::uint32_t>(decision.rule_count, GOV_MAX_DECIDING_RULES);
  for (std::uint32_t k = 0; k < count; ++k) {
    if (auto added = add(decision.rules[k]); !added.ok()) return Error{"bundle IR: " + added.error().message};
  }
  if (auto added = add(decision.error_rule); !added.ok()) return Error{"bundle IR: " + added.error().message};
  return subset;
}
ErrorOr<const interp::PreparedPolicy*> LoadedPolicy::Prepare() const {
  const State& state = *state_;
  std::call_once(state.prepare_once, [&state] {
    if (state.prepared) return;
    const ir::Policy* decoded = state.Decoded();
    if (decoded == nullptr) {
      state.prepare_error = state.decode_error;
      return;
    }
    auto prepared = interp::PreparedPolicy::Create(*decoded);
    if (prepared.ok()) {
      state.prepared.emplace(std::move(prepared).value());
    } else {
      state.prepare_error = "bundle IR: " + prepared.error().message;
    }
  });
  if (!state.prepared) return Error{state.prepare_error};
  return &*state.prepared;
}
const interp::PreparedPolicy& LoadedPolicy::prepared() const {
  auto prepared = Prepare();
  if (!prepared.ok()) {
    // Fail closed: there is no interpreter form to hand out (see loader.h).
    std::fprintf(stderr, "gov: cannot prepare the policy for the interpreter: %s\n", prepared.error().message.c_str());
    std::abort();
  }
  return *prepared.value();
}
const Manifest& LoadedPolicy::manifest() const {
  return state_->manifest;
}
const crypto::PublicKey& LoadedPolicy::signer() const {
  return *state_->signer;
}
const std::string& LoadedPolicy::digest() const {
  return state_->digest;
}
bool LoadedPolicy::native() const {
  return state_->decide != nullptr;
}
const std::string& LoadedPolicy::engine() const {
  return state_->engine;
}

ErrorOr<LoadedPolicy> LoadedPolicy::Load(std::string_view bytes, std::string* file,
                                         const std::vector<crypto::PublicKey>& trusted, const LoadOptions& options) {
  if (options.require_native && !options.allow_native) {
    return Error{"contradictory load options: native code both required and disallowed"};
  }
  auto state = std::make_unique<LoadedPolicy::State>();
  if (file != nullptr) {
    state->storage = std::move(*file);
    bytes = state->storage;
  }
  // Signature first, then manifest and code image.
  GOV_ASSIGN_OR_RETURN(VerifiedBundle verified, VerifyBundle(bytes, trusted));

  // The IR: always its view (what native decisions need), and the whole
  // policy decoded and validated (ir::Deserialize runs ir::Validate) unless
  // the caller defers that (LoadOptions::decode_ir).
  if (file != nullptr) {
    state->ir_bytes = verified.ir;  // inside storage
  } else {
    state->storage.assign(verified.ir);
    state->ir_bytes = state->storage;
  }
  auto view = ir::PolicyView::Open(state->ir_bytes);
  if (!view.ok()) {
    return Error{"bundle IR: " + view.error().message};
  }
  state->view.emplace(std::move(view).value());
  if (state->view->name() != verified.manifest.policy_name ||
      state->view->version() != verified.manifest.policy_version) {
    return Error{"bundle manifest names policy `" + verified.manifest.policy_name + "` version `" +
                 verified.manifest.policy_version + "`, its IR is `" + state->view->name() + "` version `" +
                 state->view->version() + "`"};
  }
  state->manifest = std::move(verified.manifest);
  state->signer = verified.signer;
  state->digest = std::move(verified.digest);

  // The engine: native code when it was built for this machine.
  std::string reason;
  if (!verified.image) {
    reason = "the bundle has no native code";
  } else if (!options.allow_native) {
    reason = "native code was not allowed by the caller";
  } else {
    reason = NativeIncompatibility(*state->manifest.target);
    if (reason.empty()) {
      auto mapped =
          MapCodeImage(*verified.image, options.map_through_memfd, state->mapping, state->mapping_size, state->decide);
      if (!mapped.ok()) {
        reason = "cannot load the native code: " + mapped.error().message;
      }
    }
  }
  if (state->decide != nullptr) {
    state->image_id = abi::NewCodeImageId();
    state->engine = "native code for " + state->manifest.target->triple + " (" + state->manifest.target->cpu + ")";
  } else {
    if (options.require_native) {
      return Error{"bundle native code cannot be used: " + reason};
    }
    state->engine = "IR interpreter: " + reason;
  }
  const bool prepare = state->decide == nullptr || options.prepare_interpreter;
  if (prepare || options.decode_ir) {
    if (state->Decoded() == nullptr) {
      return Error{state->decode_error};
    }
  }
  if (prepare) {
    // The interpreter decides (or the caller wants explanations): prepare
    // now, so that failures are load errors. When it decides, it owns the IR.
    auto prepared = state->decide == nullptr ? interp::PreparedPolicy::Create(std::move(*state->policy))
                                             : interp::PreparedPolicy::Create(*state->policy);
    if (!prepared.ok()) {
      return Error{"bundle IR: " + prepared.error().message};
    }
    if (state->decide == nullptr) state->policy.reset();
    state->prepared.emplace(std::move(prepared).value());
  }
  return LoadedPolicy(std::move(state));
}

ErrorOr<LoadedPolicy> LoadBundle(std::string_view bytes, const std::vector<crypto::PublicKey>& trusted,
                                 const LoadOptions& options) {
  return LoadedPolicy::Load(bytes, nullptr, trusted, options);
}

ErrorOr<std::string> ReadBundleFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Error{"cannot open bundle " + path + ": " + std::strerror(errno)};
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int saved = errno;
    close(fd);
    return Error{"cannot stat bundle " + path + ": " + std::strerror(saved)};
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return Error{"bundle " + path + " is not a regular file"};
  }
  if (static_cast<std::uint64_t>(info.st_size) > kMaxBundleSize) {
    close(fd);
    return Error{"bundle " + path + " is too large (" + std::to_string(info.st_size) + " bytes; at most " +
                 std::to_string(kMaxBundleSize) + ")"};
  }
  std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      const int saved = errno;
      close(fd);
      return Error{"cannot read bundle " + path + ": " + std::strerror(saved)};
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  // A file that grows while read is caught here; one that shrinks, by the
  // size check below.
  char extra = 0;
  const ssize_t more = read(fd, &extra, 1);
  close(fd);
  if (done != bytes.size() || more != 0) {
    return Error{"bundle " + path + " changed while it was read"};
  }
  return bytes;
}

ErrorOr<LoadedPolicy> LoadBundleFile(const std::string& path, const std::vector<crypto::PublicKey>& trusted,
                                     const LoadOptions& options) {
  GOV_ASSIGN_OR_RETURN(std::string bytes, ReadBundleFile(path));
  auto loaded = LoadedPolicy::Load({}, &bytes, trusted, options);
  if (!loaded.ok()) {
    return Error{path + ": " + loaded.error().message};
  }
  return loaded;
}

}  // namespace gov::bundle
