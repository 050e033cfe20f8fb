# bench_viewer: the proof viewer's cost (govverify --html, then headless
# Chromium) on session-shaped logs of 10,000 and 100,000 runs.
add_executable(bench_viewer ${CMAKE_CURRENT_LIST_DIR}/bench_viewer.cpp)
target_link_libraries(bench_viewer PRIVATE gov_lineage gov_request nlohmann_json::nlohmann_json gov_fmt)
target_compile_definitions(bench_viewer PRIVATE GOV_SOURCE_DIR="${CMAKE_SOURCE_DIR}" GOV_GOVVERIFY="$<TARGET_FILE:govverify>")
add_dependencies(bench_viewer govverify)
gov_warnings(bench_viewer)
