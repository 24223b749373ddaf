# Finds Debian's libtorch once for every module that uses it.
if(NOT TARGET torch)
  find_package(Torch REQUIRED)
endif()
