# Writes OUTPUT, a C++ source whose openapi_document() returns INPUT
# (src/server/openapi.json) byte for byte: the document is written once, as a
# file, and the binary serves that file. Run by the build when INPUT changes.
file(READ "${INPUT}" content)
string(FIND "${content}" ")openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT}: contains )openapi\", which would end the raw string literal it is embedded in")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from src/server/openapi.json by src/server/embed_openapi.cmake; edit the JSON file.\n"
  "#include \"server/openapi.h\"\n\n"
  "namespace winnow::server {\n\n"
  "std::string_view openapi_document() {\n"
  "  static constexpr char kDocument[] = R\"openapi(${content})openapi\";\n"
  "  return {kDocument, sizeof(kDocument) - 1};\n"
  "}\n\n"
  "}  // namespace winnow::server\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
