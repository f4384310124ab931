# FORGE_SANITIZE=ON builds everything with ASan and UBSan; any report aborts the test.
if(FORGE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12's flow analysis reports false 'maybe-uninitialized' in Boost headers under ASan.
  # It also pairs Asio's coroutine-frame operator delete with the wrong allocation function
  # (-Wmismatched-new-delete) once ASan instruments the frame allocation.
  add_compile_options(-Wno-maybe-uninitialized -Wno-mismatched-new-delete)
endif()
