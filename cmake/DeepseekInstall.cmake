# `cmake --install build --prefix P`: headers, libdeepseek.so + libdeepseek.a, the CLI, a CMake
# package (find_package(deepseek): deepseek::deepseek, deepseek::deepseek_static) and deepseek.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/deepseek DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS deepseek EXPORT deepseekTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS deepseek_static EXPORT deepseekStaticTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS deepseek_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/deepseek)
install(EXPORT deepseekTargets NAMESPACE deepseek:: DESTINATION ${_cmake_dir})
install(EXPORT deepseekStaticTargets NAMESPACE deepseek:: DESTINATION ${_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/deepseekConfig.cmake.in
  ${PROJECT_BINARY_DIR}/deepseekConfig.cmake INSTALL_DESTINATION ${_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/deepseekConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/deepseekConfig.cmake ${PROJECT_BINARY_DIR}/deepseekConfigVersion.cmake
  DESTINATION ${_cmake_dir})

# pkg-config: `pkg-config --cflags --libs deepseek` links the shared library; `--static` adds what
# libdeepseek.a needs.
file(RELATIVE_PATH DS_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)  # relocatable: found from the .pc itself
configure_file(${PROJECT_SOURCE_DIR}/cmake/deepseek.pc.in ${PROJECT_BINARY_DIR}/deepseek.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/deepseek.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
