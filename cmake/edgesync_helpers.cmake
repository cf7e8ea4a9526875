# Small helpers shared by the area CMakeLists.

# es_core_library(name SOURCES ... DEPS ...): a core static library with the
# repo's include layout and nlohmann/json wired for either toolchain.
function(es_core_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/core)
  if(EMSCRIPTEN)
    target_include_directories(${name} SYSTEM PUBLIC ${ES_JSON_INCLUDE})
  else()
    target_link_libraries(${name} PUBLIC nlohmann_json::nlohmann_json)
  endif()
  if(ARG_DEPS)
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  endif()
endfunction()

# es_test(area SOURCES ...): one GoogleTest executable per area, run by CTest.
function(es_test area)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  set(target ${area}_test)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest_main)
  target_compile_definitions(${target} PRIVATE
    ES_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# es_wasm_module(name OPT -O3 [HOT_OPT -O2 HOT ...] [LINK_OPT -O3] [LINK_FLAGS ...] SOURCES ... LIBS ... DEFINES ...): builds
# <name>.mjs + <name>.wasm (target wasm_<name>), an ES module that loads in node, workerd and browsers (hosts pass instantiateWasm
# and locateFile). OPT picks speed (-O3, the worker: CPU-bound per request)
# or size (-Oz, the browser: downloaded per page load). LINK_OPT (default
# OPT) is the level of the link-time optimization every function goes
# through: a size level there undoes much of HOT_OPT. LINK_FLAGS are extra
# emcc link settings of this module.
function(es_wasm_module name)
  cmake_parse_arguments(ARG "" "OPT;LINK_OPT" "HOT_OPT;SOURCES;LIBS;DEFINES;HOT;LINK_FLAGS" ${ARGN})
  if(NOT ARG_LINK_OPT)
    set(ARG_LINK_OPT ${ARG_OPT})
  endif()
  # The sources are compiled per module so each gets its own optimization.
  set(all_sources ${ARG_SOURCES})
  foreach(lib ${ARG_LIBS})
    get_target_property(lib_sources ${lib} SOURCES)
    get_target_property(lib_dir ${lib} SOURCE_DIR)
    foreach(src ${lib_sources})
      list(APPEND all_sources ${lib_dir}/${src})
    endforeach()
  endforeach()
  set(target wasm_${name})
  # HOT sources (paths under core/) keep HOT_OPT in a size-optimized module:
  # -Oz stops inlining even trivial accessors, and the per-byte loops of the
  # JSON scanner and the answer parser ran 4x slower for it.
  set(hot_sources "")
  foreach(hot ${ARG_HOT})
    foreach(src ${all_sources})
      if(src MATCHES "/${hot}$")
        list(APPEND hot_sources ${src})
      endif()
    endforeach()
  endforeach()
  list(REMOVE_ITEM all_sources ${hot_sources})
  set(opt ${ARG_OPT})
  if(hot_sources)
    # The HOT sources are the module's own objects and the rest an object
    # library linked after them: the linker keeps the first copy of an inline
    # function two objects share (std::string, the JSON scanner's helpers),
    # so the hot path gets its speed-compiled copies, not the size ones.
    add_executable(${target} ${hot_sources})
    set(opt ${ARG_HOT_OPT})
    add_library(${target}_cold OBJECT ${all_sources})
    target_compile_options(${target}_cold PRIVATE ${ARG_OPT} -flto -mbulk-memory)
    target_compile_definitions(${target}_cold PRIVATE ${ARG_DEFINES})
    target_include_directories(${target}_cold SYSTEM PRIVATE ${ES_JSON_INCLUDE})
    foreach(lib ${ARG_LIBS})
      get_target_property(inc ${lib} INCLUDE_DIRECTORIES)
      target_include_directories(${target}_cold PRIVATE ${inc})
    endforeach()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${target}_cold>)
  else()
    add_executable(${target} ${all_sources})
  endif()
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${name})
  foreach(lib ${ARG_LIBS})
    get_target_property(inc ${lib} INCLUDE_DIRECTORIES)
    target_include_directories(${target} PRIVATE ${inc})
  endforeach()
  target_include_directories(${target} SYSTEM PRIVATE ${ES_JSON_INCLUDE})
  target_compile_definitions(${target} PRIVATE ${ARG_DEFINES})
  set_target_properties(${target} PROPERTIES SUFFIX ".mjs")
  # Bulk memory: memcpy/memset become single instructions (node, workerd and
  # browsers all support it).
  target_compile_options(${target} PRIVATE ${opt} -flto -mbulk-memory)
  target_link_options(${target} PRIVATE
    ${ARG_LINK_OPT} -flto -mbulk-memory ${ARG_LINK_FLAGS}
    -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=create_module
    -sENVIRONMENT=web,worker
    -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16777216
    -sDYNAMIC_EXECUTION=0 -sFILESYSTEM=0
    -sTOTAL_STACK=1048576
    "-sEXPORTED_FUNCTIONS=['_es_alloc','_es_free','_es_call','_es_out_ptr','_es_out_len','_es_out_clear','_malloc','_free']"
    "-sEXPORTED_RUNTIME_METHODS=['HEAPU8']")
endfunction()
