# install.cmake — installation, the exported CMake package, pkg-config, and the symbol fence.
# Included at the end of the top-level CMakeLists.txt, after the targets `fastserde` and
# `fastserde_internal` exist.
#
#   cmake --install build --prefix /opt/fastserde
#
# installs
#   include/fastserde.h
#   lib/libfastserde.so.0.1.0, .so.0 (the soname), .so   (or lib/libfastserde.a when configured
#                                                         with -DBUILD_SHARED_LIBS=OFF)
#   lib/cmake/fastserde/fastserde{Config,ConfigVersion,Targets*}.cmake
#       find_package(fastserde) -> target fastserde::fastserde; it finds the CUDA toolkit
#       (CUDA::cudart) and the DLPack header for the consumer
#   lib/pkgconfig/fastserde.pc
#       pkg-config --cflags --libs fastserde; the CUDA and DLPack flags are written in, since
#       the CUDA toolkit ships no cudart.pc to Require
#
# The shared library exports only fsd_* (host/fastserde.map, next to hidden visibility).
# fastserde_internal (the tests' static library) is not installed.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FSD_PACKAGE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/fastserde" CACHE STRING
    "Where the CMake package files go, relative to the prefix")
mark_as_advanced(FSD_PACKAGE_DIR)

get_target_property(_fsd_type fastserde TYPE)

# -- The symbol fence: a version script on the shared library ---------------------------------
if(_fsd_type STREQUAL "SHARED_LIBRARY" AND NOT APPLE AND NOT WIN32)
  set(_fsd_map "${PROJECT_SOURCE_DIR}/host/fastserde.map")
  target_link_options(fastserde PRIVATE "LINKER:--version-script=${_fsd_map}")
  set_property(TARGET fastserde APPEND PROPERTY LINK_DEPENDS "${_fsd_map}")
endif()

# -- Include directories: relocatable in the install tree --------------------------------------
# The top level gives `fastserde` the DLPack directory as a plain absolute path, which would be
# frozen into the exported target. Rebuild the interface so that the build tree sees the same
# directories as before and the install tree sees only its own include/; the package config
# finds DLPack on the consumer's machine instead.
set_property(TARGET fastserde PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
  "$<BUILD_INTERFACE:${DLPACK_INCLUDE_DIR}>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

# -- Files --------------------------------------------------------------------------------------
install(TARGETS fastserde
  EXPORT fastserdeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/fastserde.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT fastserdeTargets
  NAMESPACE fastserde::
  DESTINATION ${FSD_PACKAGE_DIR})

# Values the package config and the .pc file are written with.
set(FSD_PC_STATIC_LIBS "")
if(_fsd_type STREQUAL "STATIC_LIBRARY")
  set(FSD_CONFIG_STATIC TRUE)
  # What the archive's objects need from the system: threads, dlopen, the C++ runtime of the
  # nvcc-compiled kernel launchers (a C link does not add it by itself),
  list(TRANSFORM CMAKE_DL_LIBS PREPEND "-l" OUTPUT_VARIABLE _fsd_dl_flags)
  # and jansson and libxxhash of the frames.
  string(JOIN " " FSD_PC_STATIC_LIBS -ljansson -lxxhash -lstdc++ -lpthread ${_fsd_dl_flags})
else()
  set(FSD_CONFIG_STATIC FALSE)
endif()

# pkg-config: -I for the CUDA runtime headers and DLPack (unless a compiler default), -L/-l for
# cudart (the header's cudaStream_t makes it part of the interface; the library links it).
set(_fsd_cflags "")
set(_fsd_implicit ${CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES} /usr/include /usr/local/include)
foreach(dir ${CUDAToolkit_INCLUDE_DIRS} ${DLPACK_INCLUDE_DIR})
  if(NOT dir IN_LIST _fsd_implicit AND NOT "-I${dir}" IN_LIST _fsd_cflags)
    list(APPEND _fsd_cflags "-I${dir}")
  endif()
endforeach()
string(JOIN " " FSD_PC_CFLAGS ${_fsd_cflags})
set(FSD_PC_CUDA_LIBS "-L${CUDAToolkit_LIBRARY_DIR} -lcudart")

# The .pc file uses ${prefix}-relative paths when the install dirs are relative (the default),
# so a moved prefix keeps working with PKG_CONFIG_PATH pointed at it.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(FSD_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(FSD_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(FSD_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(FSD_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/fastserdeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fastserdeConfig.cmake
  INSTALL_DESTINATION ${FSD_PACKAGE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/fastserdeConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/fastserdeConfig.cmake
  ${PROJECT_BINARY_DIR}/fastserdeConfigVersion.cmake
  DESTINATION ${FSD_PACKAGE_DIR})

# The prefix is written at install time (cmake --install --prefix may differ from the
# configured CMAKE_INSTALL_PREFIX): the template is filled here, `@FSD_PC_PREFIX@` then.
set(FSD_PC_PREFIX "@FSD_PC_PREFIX@") # kept for the install-time pass
configure_file(${PROJECT_SOURCE_DIR}/cmake/fastserde.pc.in
               ${PROJECT_BINARY_DIR}/fastserde.pc.in @ONLY)
unset(FSD_PC_PREFIX)
install(CODE "
  set(FSD_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/fastserde.pc.in\"
                 \"${PROJECT_BINARY_DIR}/fastserde-install.pc\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
       TYPE FILE RENAME fastserde.pc FILES \"${PROJECT_BINARY_DIR}/fastserde-install.pc\")
")

unset(_fsd_type)
unset(_fsd_map)
unset(_fsd_cflags)
unset(_fsd_implicit)
unset(_fsd_dl_flags)
