# govconsole: the live console (an HTTP server, so never part of govrun, govd or the session supervisor).
if(TARGET gov_console_server)
  add_executable(govconsole ${CMAKE_CURRENT_LIST_DIR}/govconsole.cpp)
  target_link_libraries(govconsole PRIVATE gov_console_server CLI11::CLI11)
  gov_warnings(govconsole)
  install(TARGETS govconsole RUNTIME DESTINATION bin)
endif()
