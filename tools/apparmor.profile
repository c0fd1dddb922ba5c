# AppArmor profile for sandbox, installed by `make install` as
# /etc/apparmor.d/sandbox where /etc/apparmor.d exists (issue 26).
#
# Ubuntu 23.10 and later set kernel.apparmor_restrict_unprivileged_userns:
# an unconfined program may still make a user namespace, but gets no
# capability in it, so no sandbox can be built there. This profile gives
# the binary at @BIN@ (and sandbox-oci, a link to it) the `userns` right
# and nothing else: it is otherwise unconfined, as the binary was. Load it
# with `sudo apparmor_parser -r /etc/apparmor.d/sandbox` (make install
# does, as root, when apparmor_parser is there).
# Local additions go in /etc/apparmor.d/local/sandbox.

abi <abi/4.0>,

include <tunables/global>

profile sandbox @BIN@ flags=(unconfined) {
  userns,

  include if exists <local/sandbox>
}
