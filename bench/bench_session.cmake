# bench_session: a governed session (govrun --session) against the same
# commands ungoverned — a bash loop of 2,000 execs and make -j2 of 200 C
# files — with the supervisor's cost per exec split into its phases.
if(TARGET govrun)
  add_executable(bench_session ${CMAKE_CURRENT_SOURCE_DIR}/bench_session.cpp)
  target_link_libraries(bench_session PRIVATE gov_crypto)
  target_compile_definitions(bench_session PRIVATE GOV_GOVC="$<TARGET_FILE:govc>" GOV_GOVRUN="$<TARGET_FILE:govrun>")
  add_dependencies(bench_session govc govrun)
  gov_warnings(bench_session)
endif()
