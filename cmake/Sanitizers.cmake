# FORGE_SANITIZE=ON builds everything with ASan and UBSan; any report aborts the test.
if(FORGE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12's flow analysis reports false 'maybe-uninitialized' in Boost headers under ASan.
  add_compile_options(-Wno-maybe-uninitialized)
endif()
