# govrun: runtime libraries only — no gov_driver, no LLVM, no ANTLR (checked
# by the govrun_links_no_llvm test in tests/govrun).
#
# Startup cost (docs/govrun.md "Performance"): every shared object costs
# mapping, relocation and page faults at each start, which dominate govrun's
# time on a VM where a page fault costs ~30 µs. So govrun links libstdc++,
# libgcc, libsodium and fmt statically and keeps only libc (glibc: NSS for
# user and group names, dlopen of the bundle's native code) shared:
#   -static-libstdc++ -static-libgcc      no libstdc++.so / libgcc_s.so / libm.so
#   -no-pie                               no relative relocations of govrun's own data
#   --whole-archive libsodium.a           before the libsodium.so gov_crypto names;
#                                         --as-needed then drops the .so
#   govrun_fmt.cpp (FMT_HEADER_ONLY)      defines the one fmt symbol the runtime
#                                         libraries call; --as-needed drops libfmt.so
# tests/govrun checks that govrun needs no other shared object than libc.
if(TARGET gov_lineage)
  add_executable(govrun ${CMAKE_CURRENT_SOURCE_DIR}/govrun.cpp ${CMAKE_CURRENT_SOURCE_DIR}/govrun_fmt.cpp)
  target_link_libraries(govrun PRIVATE gov_exec gov_config gov_bundle gov_request gov_interp gov_crypto
                                       gov_lineage)
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/govrun_fmt.cpp PROPERTIES COMPILE_DEFINITIONS
                                                                                  FMT_HEADER_ONLY=1)
  # Sanitizer builds keep the default (shared) linking: the sanitizer
  # runtimes are shared objects and replace allocation functions.
  if(NOT GOV_SANITIZE)
    find_library(GOV_SODIUM_STATIC NAMES libsodium.a)
    if(NOT GOV_SODIUM_STATIC)
      message(FATAL_ERROR "govrun: libsodium.a not found (Debian: libsodium-dev)")
    endif()
    target_link_options(govrun PRIVATE -static-libstdc++ -static-libgcc -no-pie -Wl,--as-needed
                        -Wl,--push-state,--whole-archive ${GOV_SODIUM_STATIC} -Wl,--pop-state)
  endif()
  gov_warnings(govrun)
  install(TARGETS govrun RUNTIME DESTINATION bin)
else()
  message(STATUS "govrun: skipped until the gov_lineage library exists")
endif()
