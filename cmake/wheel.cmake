# wheel.cmake — the Python wheel: `pip install .` (scikit-build-core, pyproject.toml) builds the
# library and installs it as fastserde/libfastserde.so, component `python`, the only component
# the wheel takes. Included at the end of the top-level CMakeLists.txt; does nothing unless
# scikit-build-core runs CMake (SKBUILD).
#
# In the wheel the library
#   * links the CUDA runtime statically (CUDA::cudart_static, as NCCL does): the wheel must load
#     where no libcudart.so of this toolkit's major version is installed (pip's torch brings its
#     own, possibly older, and CPU-only machines have none); streams and devices are the
#     driver's, shared with torch's runtime; without a GPU or driver, host tensors still work;
#   * is one file named libfastserde.so (no version suffix, no soname links: a wheel cannot hold
#     symlinks), found by fastserde/_lib.py beside the package.
if(NOT SKBUILD)
  return()
endif()

get_target_property(_fsd_links fastserde LINK_LIBRARIES)
list(TRANSFORM _fsd_links REPLACE "^CUDA::cudart$" "CUDA::cudart_static")
set_property(TARGET fastserde PROPERTY LINK_LIBRARIES ${_fsd_links})
set_property(TARGET fastserde PROPERTY INTERFACE_LINK_LIBRARIES "")
set_property(TARGET fastserde PROPERTY VERSION)
set_property(TARGET fastserde PROPERTY SOVERSION)

install(TARGETS fastserde LIBRARY DESTINATION fastserde COMPONENT python)
unset(_fsd_links)
