# bench_govd: the lineage service — durable authorizations per second from
# 1 and 8 clients, and govrun through govd against standalone govrun.
if(TARGET govd AND TARGET govrun)
  add_executable(bench_govd ${CMAKE_CURRENT_SOURCE_DIR}/bench_govd.cpp)
  target_link_libraries(bench_govd PRIVATE gov_service gov_crypto Threads::Threads)
  target_compile_definitions(bench_govd PRIVATE GOV_GOVC="$<TARGET_FILE:govc>" GOV_GOVRUN="$<TARGET_FILE:govrun>"
                                                GOV_GOVD="$<TARGET_FILE:govd>")
  add_dependencies(bench_govd govc govrun govd)
  gov_warnings(bench_govd)
endif()
