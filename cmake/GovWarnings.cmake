# gov_warnings(target): strict warnings for gov's own code (never for generated code).
function(gov_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
                                           -Wimplicit-fallthrough
                                           -Wno-missing-field-initializers
                                           # GCC 12 reports false positives in std::string at -O2.
                                           -Wno-restrict)
  if(GOV_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
