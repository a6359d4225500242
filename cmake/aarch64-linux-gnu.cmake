# Cross-compiling chord's runtime library for AArch64 Linux (tools/CMakeLists.txt builds it so):
# Debian's gcc-aarch64-linux-gnu, and the arm64 packages of PCRE2, utf8proc and jansson
# (scripts/setup.sh installs them with dpkg --add-architecture arm64).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config reads the arm64 packages' .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
