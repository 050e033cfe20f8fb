# govd: the lineage service (runtime libraries only: no LLVM, no ANTLR).
if(TARGET gov_service)
  add_executable(govd ${CMAKE_CURRENT_LIST_DIR}/govd.cpp)
  target_link_libraries(govd PRIVATE gov_service gov_lineage gov_crypto CLI11::CLI11 gov_fmt)
  gov_warnings(govd)
  install(TARGETS govd RUNTIME DESTINATION sbin)
endif()

# The systemd units and the sysusers entry for the `gov` user and group.
set(GOV_SERVICE_UNITS ${CMAKE_SOURCE_DIR}/runtime/service/systemd)
# govd.service names govd by its installed path, so it is written when installing,
# with the prefix of that install (a .deb built by cpack installs to /usr
# whatever CMAKE_INSTALL_PREFIX the build tree was configured with).
install(CODE "
  configure_file(\"${GOV_SERVICE_UNITS}/govd.service.in\" \"${CMAKE_CURRENT_BINARY_DIR}/install/govd.service\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\" TYPE FILE
       FILES \"${CMAKE_CURRENT_BINARY_DIR}/install/govd.service\")
")
install(FILES ${GOV_SERVICE_UNITS}/govd.socket DESTINATION lib/systemd/system)
install(FILES ${GOV_SERVICE_UNITS}/gov.sysusers DESTINATION lib/sysusers.d RENAME gov.conf)
# Installing as root onto this system (no DESTDIR): create the user and make
# govrun set-gid `gov`, the installed form govd accepts submissions from.
install(CODE [[
  if("$ENV{DESTDIR}" STREQUAL "")
    execute_process(COMMAND id -u OUTPUT_VARIABLE gov_installer_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(gov_installer_uid STREQUAL "0")
      find_program(GOV_SYSUSERS systemd-sysusers)
      if(GOV_SYSUSERS)
        execute_process(COMMAND ${GOV_SYSUSERS} "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d/gov.conf")
      endif()
      execute_process(COMMAND getent group gov RESULT_VARIABLE gov_no_group OUTPUT_QUIET)
      if(gov_no_group EQUAL 0)
        execute_process(COMMAND chgrp gov "${CMAKE_INSTALL_PREFIX}/bin/govrun")
        execute_process(COMMAND chmod 2755 "${CMAKE_INSTALL_PREFIX}/bin/govrun")
        message(STATUS "govrun: set-gid gov (docs/govd.md)")
      endif()
    endif()
  endif()
]])
