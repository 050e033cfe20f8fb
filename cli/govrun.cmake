# govrun: runtime libraries only — no gov_driver, no LLVM, no ANTLR (checked
# by the govrun_links_no_llvm test in tests/govrun).
#
# govrun is linked fully statically (release builds):
#   - Security (docs/threat-model.md, issue 13 finding 16): without a dynamic
#     loader nothing a caller's environment names (LD_PRELOAD, LD_AUDIT,
#     LD_LIBRARY_PATH, …) can be loaded into govrun before it decides; the
#     static C library's own use of LD_LIBRARY_PATH (NSS modules) and its
#     tunables are removed by runtime/exec/secure_start.cpp's re-execution.
#   - Startup cost (docs/govrun.md "Performance"): no shared object to map and
#     relocate at each start.
#   -static -no-pie                       libc, libstdc++, libgcc, libsodium from their archives
#   libsodium.a                           gov_crypto links the archive (runtime/CMakeLists.txt)
#   gov_fmt                               {fmt} compiled into the project (runtime/support/fmt_library.cpp)
# glibc warns that getpwuid_r/getgrgid_r in a static program load NSS
# modules at run time for sources other than `files` (e.g. sss, systemd):
# they are loaded from the system's library directories only, since the
# re-execution removed LD_LIBRARY_PATH. tests/govrun checks that govrun needs
# no shared object at all.
if(TARGET gov_lineage)
  # govrun_check.cpp: the JSON of --check, apart from the code every run executes.
  add_executable(govrun ${CMAKE_CURRENT_SOURCE_DIR}/govrun.cpp ${CMAKE_CURRENT_SOURCE_DIR}/govrun_check.cpp)
  target_link_libraries(govrun PRIVATE gov_session gov_exec gov_config gov_bundle gov_request gov_interp gov_crypto
                                       gov_lineage gov_service gov_hook)
  # Sanitizer builds keep the default (shared) linking: the sanitizer
  # runtimes are shared objects and replace allocation functions.
  if(NOT GOV_SANITIZE)
    if(NOT GOV_SODIUM_STATIC)
      message(FATAL_ERROR "govrun: libsodium.a not found (Debian: libsodium-dev)")
    endif()
    target_link_options(govrun PRIVATE -static -no-pie)
  endif()
  gov_warnings(govrun)
  install(TARGETS govrun RUNTIME DESTINATION bin)
else()
  message(STATUS "govrun: skipped until the gov_lineage library exists")
endif()
