# SPDX-License-Identifier: Apache-2.0
# trailhound_add_detector(): builds a detector family as a plugin shared object (and its tests).
#
#   trailhound_add_detector(NAME root-account
#                           SOURCES root_account.cpp
#                           TESTS tests/root_account_test.cpp)
#
# The plugin exports only th_module_entry_v1, links no Boost and refuses undefined symbols at
# link time (-z defs), so a plugin that loads is a plugin that runs.

set(_TRAILHOUND_DETECTOR_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(trailhound_add_detector)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;TESTS" ${ARGN})
  if(NOT ARG_NAME)
    message(FATAL_ERROR "trailhound_add_detector: NAME is required")
  endif()
  if(DEFINED TRAILHOUND_PLUGINS AND NOT "${ARG_NAME}" IN_LIST TRAILHOUND_PLUGINS)
    return()  # -DTRAILHOUND_PLUGINS=a;b builds only those families
  endif()
  foreach(_file IN LISTS ARG_SOURCES ARG_TESTS)
    if(NOT IS_ABSOLUTE "${_file}")
      set(_file "${CMAKE_CURRENT_SOURCE_DIR}/${_file}")
    endif()
    if(NOT EXISTS "${_file}")
      message(WARNING "detector family ${ARG_NAME} skipped: ${_file} does not exist")
      return()
    endif()
  endforeach()
  set(target "th-${ARG_NAME}")
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE trailhound::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED TRAILHOUND_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${TRAILHOUND_PLUGIN_OUTPUT_DIR}")
  endif()
  target_link_options(${target} PRIVATE
    "LINKER:-z,defs"
    "LINKER:--version-script=${_TRAILHOUND_DETECTOR_DIR}/plugin.map")
  if(COMMAND trailhound_install_plugin)
    trailhound_install_plugin(${target})
  endif()

  if(ARG_TESTS AND BUILD_TESTING AND TARGET trailhound::testing)
    set(test_target "${ARG_NAME}_test")
    add_executable(${test_target} ${ARG_SOURCES} ${ARG_TESTS})
    target_link_libraries(${test_target} PRIVATE trailhound::sdk trailhound::testing GTest::gtest_main)
    target_compile_features(${test_target} PRIVATE cxx_std_20)
    gtest_discover_tests(${test_target} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
