# Compiler flags shared by every target of the project.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(-Wall -Wextra -Wno-unused-parameter)
endif()
if(DS_SANITIZE)
  string(REPLACE ";" "," _ds_san "${DS_SANITIZE}")
  add_compile_options(-fsanitize=${_ds_san} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${_ds_san})
endif()
