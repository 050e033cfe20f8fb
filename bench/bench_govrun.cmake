# bench_govrun: `govrun -- /usr/bin/true` ÷ `/usr/bin/true`, paired runs, with
# a real signed bundle and lineage records; prints where govrun's time goes.
if(TARGET govrun)
  add_executable(bench_govrun ${CMAKE_CURRENT_SOURCE_DIR}/bench_govrun.cpp)
  target_link_libraries(bench_govrun PRIVATE gov_crypto)
  target_compile_definitions(bench_govrun PRIVATE GOV_GOVC="$<TARGET_FILE:govc>" GOV_GOVRUN="$<TARGET_FILE:govrun>")
  add_dependencies(bench_govrun govc govrun)
  gov_warnings(bench_govrun)
endif()
