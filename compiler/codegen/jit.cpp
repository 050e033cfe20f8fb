// The ORC side of code generation (see codegen.h): target choice, the O2
// pipeline in the IR transform layer, LLJIT with a compile function whose
// ObjectCache captures the object, eager lookup, object checks and the
// code-image link. llvm::Error values are converted to gov::Error here.
#include <llvm/ExecutionEngine/ObjectCache.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/IRCompileLayer.h>
#include <llvm/ExecutionEngine/Orc/IRTransformLayer.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>
#include <llvm/Transforms/IPO/Inliner.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/GVN.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <pthread.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/elf.h"
#include "compiler/codegen/emit.h"
#include "compiler/codegen/link.h"
#include "runtime/abi/helpers.h"

namespace gov::codegen {
namespace {

// Stack for compilation: lowering recurses once per nesting level (up to
// kMaxDepth) and so do some LLVM analyses.
constexpr std::size_t kCompileStackBytes = std::size_t{512} << 20;

Error FromLlvm(llvm::Error error, const std::string& what) {
  return Error{what + ": " + llvm::toString(std::move(error))};
}

void InitializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

// Runs `fn` on a new thread with a large stack and waits for it.
void RunOnLargeStack(const std::function<void()>& fn) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, kCompileStackBytes);
  pthread_t thread;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  if (pthread_create(&thread, &attributes, trampoline, const_cast<std::function<void()>*>(&fn)) != 0) {
    pthread_attr_destroy(&attributes);
    // No thread: run here, with the caller's stack.
    fn();
    return;
  }
  pthread_attr_destroy(&attributes);
  pthread_join(thread, nullptr);
}

// Captures the object the JIT compiled for our module (identified by name).
class CapturingCache final : public llvm::ObjectCache {
 public:
  explicit CapturingCache(std::string module_id) : module_id_(std::move(module_id)) {}

  void notifyObjectCompiled(const llvm::Module* module, llvm::MemoryBufferRef object) override {
    if (module == nullptr || module->getModuleIdentifier() != module_id_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    object_.assign(object.getBufferStart(), object.getBufferSize());
  }
  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module*) override { return nullptr; }

  std::string TakeObject() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(object_);
  }

 private:
  std::string module_id_;
  std::mutex mutex_;
  std::string object_;
};

// The module identifier of every generated module (see CapturingCache).
constexpr const char* kModuleId = "gov.policy";

struct Target {
  llvm::orc::JITTargetMachineBuilder builder;
  std::string cpu;
  // What the code may use, see NativeCode::cpu_features.
  std::string features;
  // A machine made from `builder` (for the optimizer; creating one costs
  // milliseconds).
  std::unique_ptr<llvm::TargetMachine> machine;
};

// The target for `options`: this machine's triple with the chosen CPU,
// position-independent code, small code model (govc's linker, link.h, turns
// it into a code image with base-relative fixups only).
ErrorOr<Target> ChooseTarget(const Options& options) {
  auto detected = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!detected) return FromLlvm(detected.takeError(), "cannot describe this machine to LLVM");
  llvm::orc::JITTargetMachineBuilder builder = std::move(*detected);
  builder.setRelocationModel(llvm::Reloc::PIC_);
  builder.setCodeModel(llvm::CodeModel::Small);
  builder.setCodeGenOptLevel(options.opt_level <= 1 ? llvm::CodeGenOptLevel::None : llvm::CodeGenOptLevel::Default);
  const llvm::Triple& triple = builder.getTargetTriple();
  llvm::StringMap<bool, llvm::MallocAllocator> host_features = llvm::sys::getHostCPUFeatures();

  std::string cpu = options.cpu;
  if (cpu != "host") {
    if (cpu.empty()) {
      cpu = triple.getArch() == llvm::Triple::x86_64 ? "x86-64-v2" : "generic";
    } else {
      // Check the name with a host-default subtarget (an unknown name would
      // only print a warning inside LLVM).
      auto probe = builder.createTargetMachine();
      if (!probe) return FromLlvm(probe.takeError(), "cannot create a target machine");
      if (!(*probe)->getMCSubtargetInfo()->isCPUStringValid(cpu)) {
        return Error{"unknown CPU `" + cpu + "` for " + triple.str()};
      }
    }
    builder.setCPU(cpu);
    builder.setFeatures("");
  } else {
    cpu = builder.getCPU();
  }

  // The ISA features the code may use: the subtarget's enabled features
  // that host feature detection knows about (tuning flags excluded).
  auto machine = builder.createTargetMachine();
  if (!machine) return FromLlvm(machine.takeError(), "cannot create a target machine");
  const llvm::MCSubtargetInfo* subtarget = (*machine)->getMCSubtargetInfo();
  std::vector<std::string> enabled;
  std::vector<std::string> missing;
  for (const llvm::SubtargetFeatureKV& feature : subtarget->getAllProcessorFeatures()) {
    auto known = host_features.find(feature.Key);
    if (known == host_features.end() || !subtarget->getFeatureBits().test(feature.Value)) continue;
    enabled.push_back(std::string("+") + feature.Key);
    if (!known->second) missing.push_back(feature.Key);
  }
  std::sort(enabled.begin(), enabled.end());
  std::sort(missing.begin(), missing.end());
  if (!missing.empty()) {
    std::string list;
    for (const std::string& name : missing) list += (list.empty() ? "" : ", ") + name;
    return Error{"this machine's CPU lacks features that CPU `" + cpu + "` code may use: " + list};
  }
  Target target{std::move(builder), cpu, {}, std::move(*machine)};
  for (const std::string& name : enabled) target.features += (target.features.empty() ? "" : ",") + name;
  return target;
}

// Runs the optimization pipeline of `opt_level` on `module`. Level 2 is a
// pipeline chosen for the code emit.cpp produces rather than the generic O2
// pipeline: the inliner (small utilities into the shape functions and
// gov_decide), then SROA, EarlyCSE, InstCombine, SimplifyCFG, GVN and a
// second InstCombine/SimplifyCFG round. The generated functions are
// straight-line condition code plus short loops over strings and lists; the
// O2 pipeline's loop, vectorization and interprocedural passes found nothing
// more in them and cost half of the compile (bench_decide: 63 → 42 ms compile
// at 200 rules, decision median unchanged; docs/codegen.md).
void Optimize(llvm::Module& module, llvm::TargetMachine* machine, int opt_level) {
  if (opt_level <= 0) return;
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder passes(machine);
  passes.registerModuleAnalyses(modules);
  passes.registerCGSCCAnalyses(sccs);
  passes.registerFunctionAnalyses(functions);
  passes.registerLoopAnalyses(loops);
  passes.crossRegisterProxies(loops, functions, sccs, modules);
  // The cheap function passes that matter most for the emitted code:
  // allocas to registers, redundancy elimination, peepholes, CFG cleanup.
  llvm::FunctionPassManager simplify;
  simplify.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  simplify.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/opt_level >= 2));
  simplify.addPass(llvm::InstCombinePass());
  simplify.addPass(llvm::SimplifyCFGPass());
  llvm::ModulePassManager pipeline;
  if (opt_level >= 2) {
    pipeline.addPass(llvm::createModuleToPostOrderCGSCCPassAdaptor(llvm::InlinerPass()));
    simplify.addPass(llvm::GVNPass());
    simplify.addPass(llvm::InstCombinePass());
    simplify.addPass(llvm::SimplifyCFGPass());
  }
  pipeline.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(simplify)));
  pipeline.run(module, modules);
}

// Lowers `policy` to a verified module for `machine`.
ErrorOr<std::unique_ptr<llvm::Module>> Lower(const ir::Policy& policy, llvm::LLVMContext& context,
                                             llvm::TargetMachine& machine, const Options& options) {
  GOV_ASSIGN_OR_RETURN(
      std::unique_ptr<llvm::Module> module,
      internal::EmitModule(policy, context, machine.getTargetTriple().str(),
                           machine.createDataLayout().getStringRepresentation(), options.max_emitted_nodes));
  module->setModuleIdentifier(kModuleId);
  std::string problems;
  llvm::raw_string_ostream stream(problems);
  if (llvm::verifyModule(*module, &stream)) {
    return Error{"internal error: the generated LLVM IR is invalid: " + stream.str()};
  }
  return module;
}

}  // namespace

static int EffectiveOptLevel(const Options& options) {
  return options.opt_level == kAutoOptLevel ? 2 : std::clamp(options.opt_level, 0, 2);
}

struct JitPolicy::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JitPolicy::JitPolicy() : impl_(std::make_unique<Impl>()) {}
JitPolicy::~JitPolicy() = default;

std::uint32_t JitPolicy::Decide(const gov_request& request, gov_decision& decision) const {
  abi::CodeImageScope image(image_id_);
  return decide_(&request, &decision, abi::DefaultHelpers());
}

ErrorOr<std::unique_ptr<JitPolicy>> JitPolicy::Compile(const ir::Policy& policy, const Options& requested) {
  InitializeLlvm();
  Options options = requested;
  options.opt_level = EffectiveOptLevel(requested);
  ErrorOr<std::unique_ptr<JitPolicy>> outcome = Error{"compilation did not run"};
  RunOnLargeStack([&] {
    auto compile = [&]() -> ErrorOr<std::unique_ptr<JitPolicy>> {
      GOV_ASSIGN_OR_RETURN(Target target, ChooseTarget(options));
      std::shared_ptr<llvm::TargetMachine> optimizer_machine = std::move(target.machine);

      auto context = std::make_unique<llvm::LLVMContext>();
      GOV_ASSIGN_OR_RETURN(std::unique_ptr<llvm::Module> module, Lower(policy, *context, *optimizer_machine, options));
      llvm::orc::ThreadSafeContext thread_safe_context(std::move(context));

      auto cache = std::make_shared<CapturingCache>(kModuleId);
      auto jit =
          llvm::orc::LLJITBuilder()
              .setJITTargetMachineBuilder(target.builder)
              // Generated code may reference nothing from this process:
              // no platform runtime, no process symbols.
              .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
              .setLinkProcessSymbolsByDefault(false)
              .setCompileFunctionCreator([cache](llvm::orc::JITTargetMachineBuilder builder)
                                             -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                auto compiler_machine = builder.createTargetMachine();
                if (!compiler_machine) return compiler_machine.takeError();
                return std::make_unique<llvm::orc::TMOwningSimpleCompiler>(std::move(*compiler_machine), cache.get());
              })
              .create();
      if (!jit) return FromLlvm(jit.takeError(), "cannot create the JIT");
      (*jit)->getIRTransformLayer().setTransform(
          [optimizer_machine, opt_level = options.opt_level](
              llvm::orc::ThreadSafeModule unoptimized,
              llvm::orc::MaterializationResponsibility&) -> llvm::Expected<llvm::orc::ThreadSafeModule> {
            unoptimized.withModuleDo([&](llvm::Module& m) { Optimize(m, optimizer_machine.get(), opt_level); });
            return unoptimized;
          });
      if (llvm::Error added =
              (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), thread_safe_context))) {
        return FromLlvm(std::move(added), "cannot add the policy module to the JIT");
      }
      // Eager: compile now, not on first call.
      auto symbol = (*jit)->lookup(internal::kDecideSymbol);
      if (!symbol) return FromLlvm(symbol.takeError(), "cannot compile the policy");

      std::unique_ptr<JitPolicy> compiled(new JitPolicy());
      compiled->decide_ = symbol->toPtr<gov_decide_fn>();
      compiled->image_id_ = abi::NewCodeImageId();
      compiled->impl_->jit = std::move(*jit);
      NativeCode& native = compiled->native_;
      native.object = cache->TakeObject();
      native.target_triple = target.builder.getTargetTriple().str();
      native.cpu = target.cpu;
      native.cpu_features = target.features;
      if (native.object.empty()) return Error{"internal error: the JIT compiled no object for the policy"};

      GOV_ASSIGN_OR_RETURN(ElfSymbols symbols, ReadElfSymbols(native.object));
      if (!symbols.undefined.empty()) {
        std::string list;
        for (const std::string& name : symbols.undefined) list += (list.empty() ? "" : ", ") + name;
        return Error{"internal error: generated code references external symbols: " + list};
      }
      if (symbols.defined_global != std::vector<std::string>{internal::kDecideSymbol}) {
        return Error{"internal error: generated code must define exactly one global symbol, gov_decide"};
      }
      if (options.link_image) {
        auto image = LinkCodeImage(native.object, internal::kDecideSymbol);
        if (!image.ok()) return Error{"cannot link the native code: " + image.error().message};
        native.image = std::move(image).value();
      }
      return compiled;
    };
    outcome = compile();
  });
  return outcome;
}

ErrorOr<std::string> EmitLlvmIr(const ir::Policy& policy, bool optimized, const Options& requested) {
  InitializeLlvm();
  Options options = requested;
  options.opt_level = EffectiveOptLevel(requested);
  ErrorOr<std::string> outcome = Error{"compilation did not run"};
  RunOnLargeStack([&] {
    auto emit = [&]() -> ErrorOr<std::string> {
      GOV_ASSIGN_OR_RETURN(Target target, ChooseTarget(options));
      llvm::LLVMContext context;
      GOV_ASSIGN_OR_RETURN(std::unique_ptr<llvm::Module> module, Lower(policy, context, *target.machine, options));
      if (optimized) Optimize(*module, target.machine.get(), options.opt_level);
      std::string text;
      llvm::raw_string_ostream stream(text);
      module->print(stream, nullptr);
      return stream.str();
    };
    outcome = emit();
  });
  return outcome;
}

}  // namespace gov::codegen
