# govverify: offline lineage verification (runtime libraries only: no LLVM, no ANTLR).
add_executable(govverify ${CMAKE_CURRENT_LIST_DIR}/govverify.cpp)
target_link_libraries(govverify PRIVATE gov_proof_viewer gov_lineage gov_bundle nlohmann_json::nlohmann_json gov_fmt)
gov_warnings(govverify)
install(TARGETS govverify RUNTIME DESTINATION bin)
