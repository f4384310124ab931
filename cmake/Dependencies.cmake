# Every dependency is a Debian 12 package (tools/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 CONFIG REQUIRED COMPONENTS json url)
find_package(OpenSSL 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)
# libsodium (argon2id password hashes) has no CMake package in Debian 12: pkg-config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
# zlib: the gzip of `forge debug bundle`.
find_package(ZLIB REQUIRED)

# Asio and Beast are compiled once, in src/net/asio_lib.cc.
add_compile_definitions(BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
                        BOOST_ASIO_NO_DEPRECATED SPDLOG_FMT_EXTERNAL)
