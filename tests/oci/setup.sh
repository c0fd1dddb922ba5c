# tests/oci/setup.sh: rootless podman for an unprivileged user, with
# sandbox-oci and runc as its runtimes. Sourced (bash) by tests/oci/run
# (make test-oci) and bench/run (make bench); run as root.
#
# The caller sets, before using these functions:
#   user, uid   the user podman runs as (made by oci_user when missing)
#   work        a directory the user can enter (podman's working directory)
#   logs        where cap writes each command's stdout and stderr
#   PATH        exported; the user's podman gets the same
# and defines say (a line of progress). oci_user sets gid, subid_start,
# subid_count; oci_podman_home sets home, runtime_dir, user_env.
#
# Nothing here exits: a function that fails returns non-zero with the
# reason in oci_why, and the caller decides (the suite dies, the bench
# skips its section). Written for a caller without set -e (tests/oci/run;
# bench/run turns it off for its OCI section): statuses are checked.

oci_why=

# The tools rootless podman needs here, as COMMAND:PACKAGE, or
# dpkg:PACKAGE for a package that has no command to look for: catatonit is
# rootless podman's pause process, netavark its network stack (idle with
# --network none, but podman wants one); both are recommended by podman,
# so absent after --no-install-recommends.
oci_podman_tools="podman:podman runc:runc conmon:conmon newuidmap:uidmap newgidmap:uidmap
fuse-overlayfs:fuse-overlayfs slirp4netns:slirp4netns runuser:util-linux timeout:coreutils
dpkg:catatonit dpkg:netavark"

# oci_install SPEC...: install with apt-get (no recommends) the packages of
# the specs (above) that are missing; the last lines of apt-get's output
# on stderr when it fails.
oci_install() {
    local t need=() apt_log
    for t in "$@"; do
        case $t in
            dpkg:*) dpkg -s "${t#dpkg:}" >/dev/null 2>&1 || need+=("${t#dpkg:}") ;;
            *) command -v "${t%%:*}" >/dev/null || need+=("${t#*:}") ;;
        esac
    done
    [ ${#need[@]} -gt 0 ] || return 0
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    say "installing ${need[*]}"
    apt_log=$(mktemp /tmp/sandbox-oci-apt.XXXXXX)
    if { DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" ||
        { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}"; }; } > "$apt_log" 2>&1; then
        rm -f "$apt_log"
        return 0
    fi
    tail -n 20 "$apt_log" >&2
    rm -f "$apt_log"
    oci_why="apt-get install ${need[*]} failed"
    return 1
}

# oci_user: the user $user with uid $uid (made when missing, without a
# home) and a subordinate id range (added when it has none), as
# tests/idmap.rs and tests/debian/run give theirs: far above the usual
# 100000-based ones. Sets uid (the user's, when it exists), gid,
# subid_start, subid_count.
oci_user() {
    local f
    if getent passwd "$user" >/dev/null; then
        uid=$(id -u "$user")
    elif getent passwd "$uid" >/dev/null; then
        oci_why="uid $uid is $(getent passwd "$uid" | cut -d: -f1)'s, not $user's: choose a free uid"
        return 1
    else
        getent group "$uid" >/dev/null || groupadd -g "$uid" "$user" || { oci_why="groupadd $user failed"; return 1; }
        useradd -M -N -d /nonexistent -s /usr/sbin/nologin -u "$uid" -g "$uid" "$user" 2>/dev/null ||
            { oci_why="useradd $user failed"; return 1; }
    fi
    gid=$(id -g "$user")
    for f in /etc/subuid /etc/subgid; do
        grep -qE "^($user|$uid):" "$f" 2>/dev/null ||
            echo "$user:$((1000000000 + (uid % 10000) * 65536)):65536" >> "$f"
    done
    subid_start=$(awk -F: -v u="$user" -v i="$uid" '($1 == u || $1 == i) {print $2; exit}' /etc/subuid)
    subid_count=$(awk -F: -v u="$user" -v i="$uid" '($1 == u || $1 == i) {print $3; exit}' /etc/subuid)
    if [ -z "$subid_start" ] || [ -z "$subid_count" ]; then
        oci_why="no subordinate uid range for $user in /etc/subuid"
        return 1
    fi
}

# user_pids: the processes of the user and of its subordinate ids (a
# container's uid 0 is the user; its other uids are the range's).
user_pids() {
    ps -e -o pid=,uid= | awk -v u="$uid" -v s="$subid_start" -v c="$subid_count" \
        '$2 == u || ($2 >= s && $2 < s + c) {print $1}'
}

# stop_user_podman: the user's processes, at the end or left by a run that
# was killed: the podman pause process (it holds the user namespace),
# conmon, containers. The user is the caller's own; each is ended by its
# pid, TERM first, KILL after 5 s.
stop_user_podman() {
    local p left
    for p in $(user_pids); do kill "$p" 2>/dev/null; done
    for _ in $(seq 50); do
        left=$(user_pids)
        [ -z "$left" ] && break
        sleep 0.1
    done
    for p in $left; do kill -9 "$p" 2>/dev/null; done
}

# oci_podman_home HOME RUNC SANDBOX_OCI: the user's podman state, fresh:
# HOME (made here), XDG_RUNTIME_DIR /run/user/UID, a containers.conf whose
# runtimes runc and sandbox-oci are the paths given, storage.conf with the
# overlay driver. Ends what the user still runs first. Sets home,
# runtime_dir, user_env.
oci_podman_home() {
    home=$1
    runtime_dir=/run/user/$uid
    stop_user_podman
    rm -rf "$runtime_dir"
    mkdir -p "$runtime_dir" "$home/.config/containers"
    chmod 0700 "$runtime_dir" "$home"
    user_env=(PATH="$PATH" HOME="$home" USER="$user" LOGNAME="$user" XDG_RUNTIME_DIR="$runtime_dir" TERM=xterm LANG=C.UTF-8)
    cat > "$home/.config/containers/containers.conf" <<EOF
# Written by tests/oci/setup.sh for this run.
[engine]
# No systemd here, hence no user session bus: cgroupfs, and events in a
# file. On cgroup v1 a rootless container gets no cgroup either way.
cgroup_manager = "cgroupfs"
events_logger = "file"
# The runtimes that are given --log-format=json.
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "sandbox-oci"]
runtime = "runc"

[engine.runtimes]
runc = ["$2"]
sandbox-oci = ["$3"]
EOF
    write_storage overlay
    chown -R "$uid:$gid" "$home" "$runtime_dir"
}

# write_storage DRIVER: the user's storage.conf. The overlay driver without
# fuse-overlayfs: the kernel mounts overlay in a user namespace since 5.13
# (containers/storage reports "Native Overlay Diff: true"), while
# fuse-overlayfs cannot open /dev/fuse, 0600 root on this machine. Without
# a storage.conf podman 4.3 falls back to vfs, a full copy of the image for
# each container. vfs is the fallback (oci_podman_ready), when the overlay
# driver does not work on a kernel.
write_storage() {
    cat > "$home/.config/containers/storage.conf" <<EOF
# Written by tests/oci/setup.sh for this run.
[storage]
driver = "$1"
EOF
}

# as_oci_user CMD...: CMD as the user, in $work, with user_env alone,
# bounded (T seconds, default 30).
as_oci_user() {
    (cd "$work" && timeout -k 5 "${T:-30}" runuser -u "$user" -- env -i "${user_env[@]}" "$@")
}
# pod ARGS: podman as the user (tests/oci/run wraps it in its give-up rule).
pod() { as_oci_user podman "$@"; }

# cap NAME CMD...: run CMD with stdout to $logs/NAME.out and stderr to
# $logs/NAME.err (podman's warning that / is not a shared mount dropped);
# the status in $rc; out and err hold the texts.
cap() {
    local n=$1
    shift
    "$@" > "$logs/$n.out" 2> "$logs/$n.err"
    rc=$?
    sed -i '/is not a shared mount/d' "$logs/$n.err"
    out=$(cat "$logs/$n.out")
    err=$(cat "$logs/$n.err")
}
# what: the status, stdout and stderr of the last cap, for a failure.
what() { printf 'exit %s\nstdout: %s\nstderr: %s' "$rc" "$out" "$err"; }

# oci_podman_ready IMAGE ROOTFS: does rootless podman start here (the
# overlay driver, else vfs), and the rootfs imported as IMAGE (no
# registry). Sets podman_store ("DRIVER CGROUPS rootless=true").
oci_podman_ready() {
    local image=$1 rootfs=$2 info='{{.Store.GraphDriverName}} {{.Host.CgroupsVersion}} rootless={{.Host.Security.Rootless}}'
    cap podman-info pod info --format "$info"
    if [ "$rc" != 0 ] || [ "${out%% *}" != overlay ]; then
        say "podman with the overlay driver: $(what | tr '\n' ' ')"
        say "trying the vfs driver"
        rm -rf "$home/.local/share/containers" "$runtime_dir/containers" "$runtime_dir/libpod"
        write_storage vfs
        chown -R "$uid:$gid" "$home"
        cap podman-info pod info --format "$info"
    fi
    if [ "$rc" != 0 ]; then
        oci_why="rootless podman does not start here: $(printf '%s' "$err" | tail -n 1)"
        return 1
    fi
    podman_store=$out
    say "podman $(pod --version | cut -d' ' -f3), rootless as $user ($uid): storage $podman_store"
    oci_pod_import() {
        tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | T=120 pod import - "$image"
    }
    cap podman-import oci_pod_import
    if [ "$rc" != 0 ]; then
        oci_why="podman import failed: $(printf '%s' "$err" | tail -n 1)"
        return 1
    fi
}
