# govrun: runtime libraries only — no gov_driver, no LLVM, no ANTLR (checked
# by the govrun_links_no_llvm test in tests/govrun). Runtime libraries are
# static; libstdc++ stays shared (it is already mapped by most programs).
if(TARGET gov_lineage)
  add_executable(govrun ${CMAKE_CURRENT_SOURCE_DIR}/govrun.cpp)
  target_link_libraries(govrun PRIVATE gov_exec gov_config gov_bundle gov_request gov_interp gov_crypto
                                       gov_lineage CLI11::CLI11)
  gov_warnings(govrun)
  install(TARGETS govrun RUNTIME DESTINATION bin)
else()
  message(STATUS "govrun: skipped until the gov_lineage library exists")
endif()
