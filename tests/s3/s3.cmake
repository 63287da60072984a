# The S3 fixture: one throw-away radosgw for the whole test run (ctest
# starts it before the first test that needs it and stops it after the
# last). rgw.sh writes its endpoints and credentials to RS_S3_STATE, which
# tests read: bash scripts source it, C tests call rs_test_s3_env()
# (tests/s3/s3_env.h). docs/development.md explains how to use it.
set(RS_S3_STATE ${CMAKE_BINARY_DIR}/tests/s3.env)
add_test(NAME s3.setup COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/rgw.sh start ${RS_S3_STATE})
set_tests_properties(s3.setup PROPERTIES FIXTURES_SETUP s3 TIMEOUT 300 LABELS integration)
add_test(NAME s3.cleanup COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/rgw.sh stop ${RS_S3_STATE})
set_tests_properties(s3.cleanup PROPERTIES FIXTURES_CLEANUP s3 TIMEOUT 120 LABELS integration)

add_library(rs_tests3 STATIC ${CMAKE_CURRENT_LIST_DIR}/s3_env.c)
target_link_libraries(rs_tests3 PUBLIC rs_testlib)

# rs_s3_test(<ctest name>): the test needs radosgw; it gets RS_S3_STATE.
function(rs_s3_test name)
  set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED s3)
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT "RS_S3_STATE=${RS_S3_STATE}")
endfunction()
