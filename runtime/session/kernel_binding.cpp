// KernelBinding (kernel_binding.h): libbpf skeleton of bpf/session.bpf.c.
#include "runtime/session/kernel_binding.h"

#include <sodium.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#if GOV_SESSION_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "session.skel.h"
#endif

namespace gov::session {

#if GOV_SESSION_BPF

namespace {

// libbpf's messages, kept for the error of a failed load (never printed
// while a session runs).
std::string& LibbpfMessages() {
  static std::string messages;
  return messages;
}

int KeepLibbpfMessage(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  char line[512];
  const int length = std::vsnprintf(line, sizeof line, format, args);
  std::string& messages = LibbpfMessages();
  if (length > 0 && messages.size() < 4096) {
    messages += line;
  }
  return 0;
}

// The last line libbpf printed, as the reason of a failure.
std::string LibbpfReason() {
  std::string messages = LibbpfMessages();
  while (!messages.empty() && messages.back() == '\n') {
    messages.pop_back();
  }
  const std::size_t newline = messages.rfind('\n');
  return newline == std::string::npos ? messages : messages.substr(newline + 1);
}

std::uint64_t KernelDev(dev_t dev) {
  return (static_cast<std::uint64_t>(major(dev)) << 20) | minor(dev);
}

}  // namespace

struct KernelBinding::State {
  gov_session_bpf* skeleton = nullptr;
  ring_buffer* events = nullptr;
  int config_fd = -1;
  int auths_fd = -1;
  int marks_fd = -1;
  unsigned char key[crypto_shorthash_siphash24_KEYBYTES]{};
  const std::function<void(const gov_session_event&)>* handler = nullptr;
  std::string image;  // scratch: argv and envp of one authorization

  ~State() {
    ring_buffer__free(events);
    gov_session_bpf__destroy(skeleton);
    sodium_memzero(key, sizeof key);
  }
};

namespace {

int OnEvent(void* context, void* data, std::size_t size) {
  auto* state = static_cast<KernelBinding::State*>(context);
  if (size >= sizeof(gov_session_event) && state->handler != nullptr) {
    gov_session_event event;
    std::memcpy(&event, data, sizeof event);
    (*state->handler)(event);
  }
  return 0;
}

// The session's key and the ctime from which files count as written in it.
ErrorOr<void> StoreConfig(const KernelBinding::State& state, std::int64_t written_since) {
  gov_session_config config{};
  std::memcpy(&config.key0, state.key, 8);
  std::memcpy(&config.key1, state.key + 8, 8);
  config.written_since = written_since;
  const std::uint32_t zero = 0;
  const int stored = bpf_map_update_elem(state.config_fd, &zero, &config, BPF_ANY);
  const int error = errno;
  sodium_memzero(&config, sizeof config);
  if (stored != 0) {
    return Error{"cannot store the session's configuration for the kernel: " + std::string(std::strerror(error))};
  }
  return {};
}

// Opens and loads the object with one of the two forms of sched_process_exit.
ErrorOr<gov_session_bpf*> OpenAndLoad(bool two_argument_exit) {
  gov_session_bpf* skeleton = gov_session_bpf__open();
  if (skeleton == nullptr) {
    return Error{"cannot open the BPF object: " + LibbpfReason()};
  }
  bpf_program__set_autoload(skeleton->progs.gov_exit, two_argument_exit);
  bpf_program__set_autoload(skeleton->progs.gov_exit_one_argument, !two_argument_exit);
  if (const int error = gov_session_bpf__load(skeleton); error != 0) {
    std::string reason = LibbpfReason();
    gov_session_bpf__destroy(skeleton);
    return Error{"the kernel refused to load the session's BPF programs (" + std::string(std::strerror(-error)) +
                 (reason.empty() ? "" : ": " + reason) + ")"};
  }
  return skeleton;
}

}  // namespace

ErrorOr<std::unique_ptr<KernelBinding>> KernelBinding::Load() {
  if (sodium_init() < 0) {
    return Error{"libsodium cannot be initialised"};
  }
  LibbpfMessages().clear();
  libbpf_set_print(KeepLibbpfMessage);
  auto state = std::make_unique<State>();
  auto loaded = OpenAndLoad(true);
  if (!loaded.ok()) {
    auto older = OpenAndLoad(false);  // a kernel whose sched_process_exit has one argument
    if (!older.ok()) {
      return loaded.error();
    }
    loaded = std::move(older);
  }
  state->skeleton = loaded.value();
  if (const int error = gov_session_bpf__attach(state->skeleton); error != 0) {
    return Error{"cannot attach the session's BPF programs (" + std::string(std::strerror(-error)) + ": " +
                 LibbpfReason() + ")"};
  }
  randombytes_buf(state->key, sizeof state->key);
  state->config_fd = bpf_map__fd(state->skeleton->maps.gov_config);
  if (auto stored = StoreConfig(*state, std::numeric_limits<std::int64_t>::max()); !stored.ok()) {
    return stored.error();
  }
  state->auths_fd = bpf_map__fd(state->skeleton->maps.gov_auths);
  state->marks_fd = bpf_map__fd(state->skeleton->maps.gov_marks);
  state->events = ring_buffer__new(bpf_map__fd(state->skeleton->maps.gov_events), OnEvent, state.get(), nullptr);
  if (state->events == nullptr) {
    return Error{"cannot read the session's ring buffer: " + std::string(std::strerror(errno))};
  }
  return std::unique_ptr<KernelBinding>(new KernelBinding(std::move(state)));
}

KernelBinding::KernelBinding(std::unique_ptr<State> state) : state_(std::move(state)) {}
KernelBinding::~KernelBinding() = default;

ErrorOr<void> KernelBinding::MarkRoot(int pidfd, std::uint64_t run) {
  const std::uint64_t mark = run;
  if (bpf_map_update_elem(state_->marks_fd, &pidfd, &mark, BPF_NOEXIST) != 0) {
    return Error{"cannot mark the session's root for the kernel: " + std::string(std::strerror(errno))};
  }
  return {};
}

ErrorOr<void> KernelBinding::Authorize(pid_t tid, std::uint64_t run, const struct stat& file,
                                       const std::vector<std::string>& argv, const std::vector<std::string>& envp) {
  gov_session_auth auth{};
  auth.run = run;
  auth.dev = KernelDev(file.st_dev);
  auth.ino = file.st_ino;
  auth.size = file.st_size;
  auth.ctime_sec = file.st_ctim.tv_sec;
  auth.ctime_nsec = static_cast<std::uint32_t>(file.st_ctim.tv_nsec);
  auth.mtime_sec = file.st_mtim.tv_sec;
  auth.mtime_nsec = static_cast<std::uint32_t>(file.st_mtim.tv_nsec);
  auth.argc = static_cast<std::uint32_t>(argv.size());
  auth.envc = static_cast<std::uint32_t>(envp.size());
  std::string& image = state_->image;
  image.clear();
  for (const auto* strings : {&argv, &envp}) {
    for (const std::string& text : *strings) {
      image.append(text);
      image.push_back('\0');
    }
  }
  auth.len = image.size();
  unsigned char tag[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(tag, reinterpret_cast<const unsigned char*>(image.data()), image.size(), state_->key);
  std::memcpy(&auth.hash, tag, sizeof auth.hash);  // little-endian, as the BPF side computes it
  const auto key = static_cast<std::uint32_t>(tid);
  if (bpf_map_update_elem(state_->auths_fd, &key, &auth, BPF_ANY) != 0) {
    return Error{"cannot hand the authorization to the kernel: " + std::string(std::strerror(errno))};
  }
  return {};
}

ErrorOr<void> KernelBinding::SetWrittenSince(std::int64_t seconds) {
  return StoreConfig(*state_, seconds);
}

void KernelBinding::Revoke(pid_t tid) {
  const auto key = static_cast<std::uint32_t>(tid);
  bpf_map_delete_elem(state_->auths_fd, &key);
}

int KernelBinding::EventFd() const {
  return ring_buffer__epoll_fd(state_->events);
}

void KernelBinding::Drain(const std::function<void(const gov_session_event&)>& handle) {
  state_->handler = &handle;
  ring_buffer__consume(state_->events);
  state_->handler = nullptr;
}

bool KernelBindingBuilt() {
  return true;
}

#else  // !GOV_SESSION_BPF

struct KernelBinding::State {};

ErrorOr<std::unique_ptr<KernelBinding>> KernelBinding::Load() {
  return Error{
      "this govrun was built without the kernel session mechanism (GOV_SESSION_BPF: clang, bpftool, "
      "libbpf and the kernel's BTF at build time)"};
}
KernelBinding::KernelBinding(std::unique_ptr<State> state) : state_(std::move(state)) {}
KernelBinding::~KernelBinding() = default;
ErrorOr<void> KernelBinding::MarkRoot(int, std::uint64_t) {
  return Error{"not built"};
}
ErrorOr<void> KernelBinding::Authorize(pid_t, std::uint64_t, const struct stat&, const std::vector<std::string>&,
                                       const std::vector<std::string>&) {
  return Error{"not built"};
}
ErrorOr<void> KernelBinding::SetWrittenSince(std::int64_t) {
  return Error{"not built"};
}
void KernelBinding::Revoke(pid_t) {}
int KernelBinding::EventFd() const {
  return -1;
}
void KernelBinding::Drain(const std::function<void(const gov_session_event&)>&) {}
bool KernelBindingBuilt() {
  return false;
}

#endif

}  // namespace gov::session
