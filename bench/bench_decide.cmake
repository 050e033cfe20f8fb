# bench_decide: decision speed, compile time, load+verify (issue 3 §7).
add_executable(bench_decide ${CMAKE_CURRENT_SOURCE_DIR}/bench_decide.cpp)
target_link_libraries(bench_decide PRIVATE gov_driver gov_bundle gov_interp gov_request gov_abi_helpers gov_fmt)
target_compile_definitions(bench_decide PRIVATE GOV_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
gov_warnings(bench_decide)
