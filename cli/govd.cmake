# govd: the lineage service (runtime libraries only: no LLVM, no ANTLR).
if(TARGET gov_service)
  add_executable(govd ${CMAKE_CURRENT_LIST_DIR}/govd.cpp)
  target_link_libraries(govd PRIVATE gov_service gov_lineage gov_crypto CLI11::CLI11 fmt::fmt-header-only)
  gov_warnings(govd)
  install(TARGETS govd RUNTIME DESTINATION sbin)
endif()
