# Warnings as an INTERFACE target, so every target of ours opts in explicitly and
# third-party headers are not affected.
add_library(fakeless_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(fakeless_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
  if(FAKELESS_WERROR)
    target_compile_options(fakeless_warnings INTERFACE -Werror)
  endif()
endif()
