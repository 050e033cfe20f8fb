# bench_verify: verifying a 1,000,000-record lineage log (records/s) and the
# recording cost per govrun invocation.
add_executable(bench_verify ${CMAKE_CURRENT_LIST_DIR}/bench_verify.cpp)
target_link_libraries(bench_verify PRIVATE gov_lineage nlohmann_json::nlohmann_json)
gov_warnings(bench_verify)
