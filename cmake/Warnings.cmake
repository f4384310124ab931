# forge_apply_warnings(target): the warning set for Forge's own code. Third-party headers come
# from /usr/include and are system headers, so their warnings do not count against ours.
function(forge_apply_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2
    # Designated initializers leave fields at their defaults on purpose.
    -Wno-missing-field-initializers)
  if(FORGE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
