# ds_module(NAME DIRS dir... DEPS target...)
# One static library per layer (src/<layer>), sources globbed so adding a file needs no CMake edit.
function(ds_module name)
  cmake_parse_arguments(M "" "" "DIRS;DEPS" ${ARGN})
  set(srcs)
  foreach(d ${M_DIRS})
    file(GLOB _s CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${d}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/${d}/*.c)
    list(APPEND srcs ${_s})
  endforeach()
  if(NOT srcs)  # a layer whose sources are not written yet still links
    set(srcs ${PROJECT_BINARY_DIR}/ds_empty_${name}.cpp)
    file(WRITE ${srcs} "// no sources yet\n")
  endif()
  add_library(ds_${name} STATIC ${srcs})
  target_include_directories(ds_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
  target_link_libraries(ds_${name} PUBLIC ${M_DEPS})
endfunction()

# ds_test(NAME DIR dir LIBS target... [LABELS label...]): one GoogleTest binary per tests/<dir>,
# registered with ctest (LABELS select groups: `ctest -L threaded`).
function(ds_test name)
  cmake_parse_arguments(T "" "DIR" "LIBS;LABELS" ${ARGN})
  file(GLOB _s CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${T_DIR}/*.cpp)
  if(NOT _s)
    return()
  endif()
  add_executable(${name} ${_s})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE DS_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
  set(_props ENVIRONMENT "DS_TEST_DATA_DIR=${PROJECT_SOURCE_DIR}/tests/data")
  if(T_LABELS)
    list(APPEND _props LABELS "${T_LABELS}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${_props})
endfunction()
