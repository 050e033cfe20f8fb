// The bundle loader (see loader.h): verification order, IR decoding, native
// code through a sealed memfd + dlopen, interpreter fallback.
#include "runtime/bundle/loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
  std::optional<interp::PreparedPolicy> prepared;
  std::string engine;
  // Native code: the dlopen handle, its entry point, and the sealed memfd it
  // was loaded from (kept open while loaded so its /proc/self/fd name stays
  // unique among loaded objects).
  void* handle = nullptr;
  gov_decide_fn decide = nullptr;
  int memfd = -1;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (handle != nullptr) {
      dlclose(handle);
    }
    if (memfd >= 0) {
      close(memfd);
    }
  }
};

namespace {

ErrorOr<void> WriteAll(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote <= 0) {
      return Error{std::string("cannot write the code to a memfd: ") + std::strerror(errno)};
    }
    done += static_cast<std::size_t>(wrote);
  }
  return {};
}

// Writes `code` (a verified shared object) to a sealed memfd, dlopens it and
// finds `gov_decide`. On success sets the three outputs; on failure leaves
// nothing open and says why.
ErrorOr<void> LoadNativeCode(void*& handle_out, gov_decide_fn& decide_out, int& memfd_out, std::string_view code) {
  int fd = memfd_create("gov-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) {
    // Kernels before 6.3 know no MFD_EXEC (and need none).
    fd = memfd_create("gov-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  }
  if (fd < 0) {
    return Error{std::string("memfd_create failed: ") + std::strerror(errno)};
  }
  auto written = WriteAll(fd, code);
  if (!written.ok()) {
    close(fd);
    return written.error();
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const int saved = errno;
    close(fd);
    return Error{std::string("cannot seal the memfd: ") + std::strerror(saved)};
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // dlopen reuses an already loaded object of the same name; make sure the
  // name is ours alone so the code we run is the code we verified.
  if (void* existing = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD); existing != nullptr) {
    dlclose(existing);
    close(fd);
    return Error{"an object named " + path + " is already loaded in this process"};
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = dlerror();
    close(fd);
    return Error{std::string("dlopen failed: ") + (message != nullptr ? message : "unknown error")};
  }
  void* symbol = dlsym(handle, "gov_decide");
  if (symbol == nullptr) {
    dlclose(handle);
    close(fd);
    return Error{"the native code does not export `gov_decide`"};
  }
  handle_out = handle;
  decide_out = reinterpret_cast<gov_decide_fn>(symbol);
  memfd_out = fd;
  return {};
}

}  // namespace

LoadedPolicy::LoadedPolicy(std::unique_ptr<State> state) : state_(std::move(state)) {}
LoadedPolicy::LoadedPolicy(LoadedPolicy&&) noexcept = default;
LoadedPolicy& LoadedPolicy::operator=(LoadedPolicy&&) noexcept = default;
LoadedPolicy::~LoadedPolicy() = default;

std::uint32_t LoadedPolicy::Decide(const gov_request& request, gov_decision& decision) const {
  if (state_->decide != nullptr) {  // writes every field of `decision` (docs/abi.md)
    return state_->decide(&request, &decision, abi::DefaultHelpers());
  }
  return interp::Decide(*state_->prepared, request, decision);
}

const ir::Policy& LoadedPolicy::policy() const {
  return state_->prepared->policy();
}
const interp::PreparedPolicy& LoadedPolicy::prepared() const {
  return *state_->prepared;
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

ErrorOr<LoadedPolicy> LoadBundle(std::string_view bytes, const std::vector<crypto::PublicKey>& trusted,
                                 const LoadOptions& options) {
  if (options.require_native && !options.allow_native) {
    return Error{"contradictory load options: native code both required and disallowed"};
  }
  // Signature first, then manifest and section digests.
  GOV_ASSIGN_OR_RETURN(VerifiedBundle verified, VerifyBundle(bytes, trusted));

  // The IR: decode, validate, prepare for the interpreter.
  auto policy = ir::Deserialize(verified.ir);
  if (!policy.ok()) {
    return Error{"bundle IR: " + policy.error().message};
  }
  const std::string invalid = ir::Validate(policy.value());
  if (!invalid.empty()) {
    return Error{"bundle IR is invalid: " + invalid};
  }
  if (policy.value().name != verified.manifest.policy_name ||
      policy.value().version != verified.manifest.policy_version) {
    return Error{"bundle manifest names policy `" + verified.manifest.policy_name + "` version `" +
                 verified.manifest.policy_version + "`, its IR is `" + policy.value().name + "` version `" +
                 policy.value().version + "`"};
  }
  auto prepared = interp::PreparedPolicy::Create(std::move(policy).value());
  if (!prepared.ok()) {
    return Error{"bundle IR: " + prepared.error().message};
  }

  auto state = std::make_unique<LoadedPolicy::State>();
  state->manifest = std::move(verified.manifest);
  state->signer = verified.signer;
  state->digest = std::move(verified.digest);
  state->prepared.emplace(std::move(prepared).value());

  // The engine: native code when it was built for this machine.
  std::string reason;
  if (!verified.native) {
    reason = "the bundle has no native code";
  } else if (!options.allow_native) {
    reason = "native code was not allowed by the caller";
  } else {
    reason = NativeIncompatibility(*state->manifest.target);
    if (reason.empty()) {
      auto loaded = LoadNativeCode(state->handle, state->decide, state->memfd, *verified.native);
      if (!loaded.ok()) {
        reason = "cannot load the native code: " + loaded.error().message;
      }
    }
  }
  if (state->decide != nullptr) {
    state->engine = "native code for " + state->manifest.target->triple + " (" + state->manifest.target->cpu + ")";
  } else {
    if (options.require_native) {
      return Error{"bundle native code cannot be used: " + reason};
    }
    state->engine = "IR interpreter: " + reason;
  }
  return LoadedPolicy(std::move(state));
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
  GOV_ASSIGN_OR_RETURN(const std::string bytes, ReadBundleFile(path));
  auto loaded = LoadBundle(bytes, trusted, options);
  if (!loaded.ok()) {
    return Error{path + ": " + loaded.error().message};
  }
  return loaded;
}

}  // namespace gov::bundle
