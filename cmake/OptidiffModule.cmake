# optidiff_module(NAME SRCS a.cpp b.cpp DEPS optidiff::core ...)
# Declares the static library optidiff_<NAME> with alias optidiff::<NAME>; the repository root is the
# include root, so optidiff/zo/ranksgd.hpp is included as "optidiff/zo/ranksgd.hpp".
function(optidiff_module name)
  cmake_parse_arguments(M "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(optidiff_${name} STATIC ${M_SRCS})
  add_library(optidiff::${name} ALIAS optidiff_${name})
  target_include_directories(optidiff_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(optidiff_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
endfunction()

# optidiff_test(NAME SRCS a_test.cpp DEPS optidiff::zo): one GoogleTest executable registered with CTest.
function(optidiff_test name)
  cmake_parse_arguments(T "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${T_SRCS})
  target_link_libraries(${name} PRIVATE ${T_DEPS} optidiff_testing GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
