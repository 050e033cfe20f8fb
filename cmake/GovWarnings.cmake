# gov_warnings(target): strict warnings for gov's own code (never for generated code).
function(gov_warnings target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # -Wno-restrict: GCC 12 reports false positives inside std::string at -O2.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
                                             -Wimplicit-fallthrough -Wno-missing-field-initializers -Wno-restrict)
    # A unity build includes the .cpp files into one, and GCC then takes a
    # type in a file's anonymous namespace, used by a class of its header, for
    # one declared in a header (-Wsubobject-linkage); it is not one.
    target_compile_options(${target} PRIVATE $<$<BOOL:$<TARGET_PROPERTY:UNITY_BUILD>>:-Wno-subobject-linkage>)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wimplicit-fallthrough
                                             -Wno-missing-field-initializers)
  endif()
  if(GOV_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
