# Fill portal/vendor/ (git-ignored) with what the browser loads besides the
# portal's own files: uPlot's dist files, the QR code generator (TOTP
# enrolment) and the WebAssembly core with its JavaScript bindings.
#   cmake -DROOT=<repo> -DWASM_DIR=<build>/wasm-build/wasm -P portal/vendor.cmake
# Run by the default build (target portal_vendor, portal/CMakeLists.txt).
set(out ${ROOT}/portal/vendor)
file(MAKE_DIRECTORY ${out}/uplot ${out}/qrcode ${out}/wasm)

function(copy_if_present dest)
  foreach(f ${ARGN})
    if(EXISTS ${f})
      file(COPY ${f} DESTINATION ${dest})
    else()
      message(WARNING "portal vendor: ${f} is missing (npm ci / the wasm build)")
    endif()
  endforeach()
endfunction()

set(npm ${ROOT}/node_modules)
copy_if_present(${out}/uplot ${npm}/uplot/dist/uPlot.esm.js ${npm}/uplot/dist/uPlot.min.css
                ${npm}/uplot/dist/uPlot.iife.min.js ${npm}/uplot/LICENSE)
copy_if_present(${out}/qrcode ${npm}/qrcode-generator/dist/qrcode.mjs)
if(WASM_DIR AND EXISTS ${WASM_DIR}/metron.mjs)
  file(GLOB wasm_js ${WASM_DIR}/*.mjs)
  file(COPY ${wasm_js} DESTINATION ${out}/wasm)
  # The hand-written bindings from the source tree: the wasm build copies
  # them only when it relinks the module, so a change to wasm/*.mjs alone
  # would not reach the portal otherwise.
  file(GLOB wasm_src_js ${ROOT}/wasm/*.mjs)
  file(COPY ${wasm_src_js} DESTINATION ${out}/wasm)
else()
  message(WARNING "portal vendor: no WebAssembly build in '${WASM_DIR}': portal/vendor/wasm stays empty")
endif()

# The about page (#/help) shows the version: package.json's, with the commit
# the build was made from. (Its references come from scripts/portal-references.mjs.)
file(READ ${ROOT}/package.json pkg)
string(JSON mt_version GET "${pkg}" version)
set(mt_commit "")
find_program(GIT_EXE git)
if(GIT_EXE)
  execute_process(COMMAND ${GIT_EXE} -C ${ROOT} rev-parse --short=10 HEAD
                  OUTPUT_VARIABLE mt_commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
file(WRITE ${out}/version.json "{\"version\": \"${mt_version}\", \"commit\": \"${mt_commit}\"}\n")
