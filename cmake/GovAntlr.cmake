# Generates the C++ parser from grammar/Gov.g4 at build time with Debian's
# antlr4 tool (the generated code is never committed). The generated files
# are compiled without our warning flags and with -fno-char8_t, which the
# ANTLR 4.9 runtime headers need under C++20.
find_program(GOV_ANTLR4 NAMES antlr4 PATHS /usr/bin REQUIRED)

set(GOV_GRAMMAR ${CMAKE_SOURCE_DIR}/grammar/Gov.g4)
set(GOV_PARSER_DIR ${CMAKE_BINARY_DIR}/generated/parser)
set(GOV_PARSER_SOURCES
    ${GOV_PARSER_DIR}/GovLexer.cpp ${GOV_PARSER_DIR}/GovParser.cpp
    ${GOV_PARSER_DIR}/GovVisitor.cpp ${GOV_PARSER_DIR}/GovBaseVisitor.cpp)

add_custom_command(
  OUTPUT ${GOV_PARSER_SOURCES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GOV_PARSER_DIR}
  COMMAND ${GOV_ANTLR4} -Dlanguage=Cpp -visitor -no-listener -package gov_parser
          -Xexact-output-dir -o ${GOV_PARSER_DIR} ${GOV_GRAMMAR}
  DEPENDS ${GOV_GRAMMAR}
  COMMENT "Generating the Gov parser from grammar/Gov.g4"
  VERBATIM)

# ANTLR 4.9's Vocabulary.h defaults a constructor that clang (correctly) treats
# as deleted under C++20; g++ accepts it. For clang builds (asan and fuzz presets)
# use a copy of the runtime headers with that one constructor spelled out.
set(GOV_ANTLR_INCLUDE /usr/include/antlr4-runtime)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(GOV_ANTLR_INCLUDE ${CMAKE_BINARY_DIR}/antlr4-compat)
  file(COPY /usr/include/antlr4-runtime/ DESTINATION ${GOV_ANTLR_INCLUDE})
  file(READ ${GOV_ANTLR_INCLUDE}/Vocabulary.h GOV_VOCABULARY_H)
  string(REPLACE "Vocabulary() = default;" "Vocabulary() {}" GOV_VOCABULARY_H "${GOV_VOCABULARY_H}")
  file(WRITE ${GOV_ANTLR_INCLUDE}/Vocabulary.h "${GOV_VOCABULARY_H}")
endif()

add_library(gov_parser_generated STATIC ${GOV_PARSER_SOURCES})
target_include_directories(gov_parser_generated SYSTEM BEFORE PUBLIC ${GOV_PARSER_DIR} ${GOV_ANTLR_INCLUDE})
# The generated parser includes compiler/parse/generated_base.h (its base classes).
target_include_directories(gov_parser_generated PRIVATE ${CMAKE_SOURCE_DIR})
target_compile_options(gov_parser_generated PUBLIC -fno-char8_t PRIVATE -w)
# Sanitizer builds: ANTLR's generated code keeps AddressSanitizer (and the
# fuzzers' coverage) but not UBSan, which doubles its compile time; its
# undefined behaviour would be ANTLR's, its memory errors could be gov's.
if(GOV_SANITIZE)
  target_compile_options(gov_parser_generated PRIVATE -fno-sanitize=undefined)
endif()
target_link_libraries(gov_parser_generated PUBLIC antlr4_shared)
set_target_properties(gov_parser_generated PROPERTIES POSITION_INDEPENDENT_CODE ON)
