# The library's surface: what librockstream.so exports, the API reference,
# and programs that embed the library as an application would.
add_test(NAME unit.api.exports
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/api/check_exports.sh $<TARGET_FILE:rockstream_shared>
                 ${PROJECT_SOURCE_DIR} ${RS_PUBLIC_HEADERS})
set_tests_properties(unit.api.exports PROPERTIES LABELS unit TIMEOUT 60)

# Every public function, type, field and parameter is documented: Doxygen
# fails on any warning (Doxyfile: WARN_AS_ERROR).
if(NOT RS_DOXYGEN)
  message(FATAL_ERROR "the tests need doxygen: bash scripts/deps.sh test")
endif()
add_test(NAME unit.api.doxygen COMMAND ${RS_DOXYGEN_COMMAND} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(unit.api.doxygen PROPERTIES LABELS unit TIMEOUT 120)

# The examples, linked against librockstream.so, run end to end; and an
# application builds against an installed copy with pkg-config and CMake.
add_test(NAME integration.api.examples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/api/test_examples.sh ${PROJECT_BINARY_DIR}/examples)
if(RS_SANITIZE)
  set(RS_CONSUMER_FLAGS "-fsanitize=address,undefined")
endif()
add_test(NAME integration.api.install
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/api/test_install.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
                 ${CMAKE_C_COMPILER} "${RS_CONSUMER_FLAGS}")
set_tests_properties(integration.api.examples integration.api.install PROPERTIES LABELS integration TIMEOUT 600
                     ENVIRONMENT "${RS_TEST_ENV}")
