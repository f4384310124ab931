# Use ccache when it is installed: rebuilds after a clean checkout become cheap.
find_program(FORGE_CCACHE ccache)
if(FORGE_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${FORGE_CCACHE})
  message(STATUS "forge: using ccache at ${FORGE_CCACHE}")
endif()
