# bench_govrun: `govrun -- /usr/bin/true` against `/usr/bin/true` and against
# the floor (govrun_floor: a minimal static wrapper that spawns the program and
# waits), paired runs, with a real signed bundle and lineage records; prints
# where govrun's time goes and the page faults of each.
if(TARGET govrun)
  enable_language(C)
  add_executable(govrun_floor ${CMAKE_CURRENT_SOURCE_DIR}/govrun_floor.c)
  target_compile_options(govrun_floor PRIVATE -O2 -Wall -Wextra -Werror)
  target_link_options(govrun_floor PRIVATE -static)
  add_executable(bench_govrun ${CMAKE_CURRENT_SOURCE_DIR}/bench_govrun.cpp)
  target_link_libraries(bench_govrun PRIVATE gov_crypto)
  target_compile_definitions(bench_govrun PRIVATE GOV_GOVC="$<TARGET_FILE:govc>" GOV_GOVRUN="$<TARGET_FILE:govrun>"
                                                  GOV_FLOOR="$<TARGET_FILE:govrun_floor>")
  add_dependencies(bench_govrun govc govrun govrun_floor)
  gov_warnings(bench_govrun)
endif()
