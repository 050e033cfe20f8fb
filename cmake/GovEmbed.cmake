# gov_embed_files(OUTPUT NAMESPACE FILE...): generates OUTPUT, a C++ source that
# defines `std::string_view NAMESPACE::k<Name>` (Name from each file's base
# name: viewer.js -> kViewerJs) holding the file's bytes, so web assets are
# served from the binary with no build step of their own. The header that
# declares the constants is written by hand beside the assets.
function(gov_embed_files output namespace)
  set(inputs ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DNAMESPACE=${namespace} "-DINPUTS=${inputs}"
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/GovEmbedScript.cmake
    DEPENDS ${inputs} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/GovEmbedScript.cmake
    COMMENT "Embedding ${namespace} assets"
    VERBATIM)
endfunction()
