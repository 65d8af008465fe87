# What `cmake --install` puts where, and the Debian package CPack makes of
# it (`cpack -G DEB` in the build directory). Included from the top level
# after every target is defined.
include(GNUInstallDirs)

# pinvmd execs pinvm-vmm from its own directory (/proc/self/exe), so the
# two always go side by side.
install(TARGETS pinvmd pinvm-vmm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET pinvm)
  install(TARGETS pinvm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/cli/pinvm.bash-completion
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME pinvm)
endif()

# The unit as written names /usr/local/bin/pinvmd (the manual install its
# header describes); the installed copy names wherever the install prefix
# puts pinvmd. The prefix is known only at install time (`cmake --install
# --prefix`, CPack's /usr), so the copy is made then.
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/deploy/pinvmd.service\" unit)
  string(REPLACE \"ExecStart=/usr/local/bin/pinvmd \"
         \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/pinvmd \"
         unit \"\${unit}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/deploy/pinvmd.service\" \"\${unit}\")
")
# lib/, not CMAKE_INSTALL_LIBDIR (lib/x86_64-linux-gnu on Debian): systemd
# reads units and sysusers.d from PREFIX/lib only.
install(FILES ${PROJECT_BINARY_DIR}/deploy/pinvmd.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/pinvmd.sysusers.conf
        DESTINATION lib/sysusers.d RENAME pinvm.conf)

if(PINVM_MAN_BUILT)
  install(FILES ${PROJECT_BINARY_DIR}/man/pinvm.1
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_BINARY_DIR}/man/pinvmd.8
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/openapi.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pinvm)

# The Debian package: one package, pinvm, for the machine's architecture.
# Its library dependencies come from dpkg-shlibdeps (Debian's dpkg-dev);
# its maintainer scripts create the user and enable the unit.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pinvm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pinvm maintainers <pinvm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "microVM manager for arm64 KVM hosts that pins the guest's hypercall ABI")
set(CPACK_PACKAGE_DESCRIPTION
    "pinvmd serves a REST API that reads the host's KVM/arm64 firmware\n\
pseudo-registers, keeps ABI profiles of pinned values and runs microVMs\n\
(pinvm-vmm) with them; pinvm is its command-line client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# CPack asks dpkg for the architecture, which is the build machine's; the
# aarch64 cross build (cmake/aarch64-linux-gnu.cmake) makes arm64 binaries.
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
endif()
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The package carries no debug info, whatever the build type.
set(CPACK_STRIP_FILES ON)
# systemd-sysusers and deb-systemd-helper, used by the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
