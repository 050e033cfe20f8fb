# bench_console: govconsole's index build, start to first page, filtered
# searches and run pages on a 1,000,000-record session-shaped log.
if(TARGET govconsole)
  add_executable(bench_console ${CMAKE_CURRENT_LIST_DIR}/bench_console.cpp)
  # gov_console_server brings cpp-httplib (the bench asks over HTTP as the page does).
  target_link_libraries(bench_console PRIVATE gov_console_server gov_console_index gov_lineage gov_request
                        nlohmann_json::nlohmann_json)
  target_compile_definitions(bench_console PRIVATE GOV_GOVCONSOLE="$<TARGET_FILE:govconsole>")
  add_dependencies(bench_console govconsole)
  gov_warnings(bench_console)
endif()
