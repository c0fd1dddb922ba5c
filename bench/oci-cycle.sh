#!/bin/sh
# bench/oci-cycle.sh RUNTIME STATE-DIR BUNDLE wait|force: one container's
# life through an OCI runtime's command line, as bench/run times it (each
# run is this script, so both runtimes pay the same sh around them).
#
#   wait   create, start, wait for the program to exit, delete: the calls
#          podman makes for a `run --rm`, with conmon's wait between start
#          and delete done here by polling the container's process;
#   force  create, start, delete --force at once: the delete kills the
#          program if it is still running.
#
# The wait polls /proc/PID/stat (PID from --pid-file) every millisecond
# (sleep 0.001, itself about a millisecond to start) until the process is
# gone or a zombie (no one here reaps it at once), for at most 5000 polls.
# Shell builtins only between the sleeps.
R=$1 S=$2 B=$3 mode=$4
"$R" --root "$S" create --bundle "$B" --pid-file "$S.pid" bench || exit 1
p=
read -r p < "$S.pid"
[ -n "$p" ] || { echo "oci-cycle: no pid in $S.pid" >&2; exit 1; }
"$R" --root "$S" start bench || exit 1
if [ "$mode" = force ]; then
    exec "$R" --root "$S" delete --force bench
fi
n=0
while [ -r "/proc/$p/stat" ] && read -r _ _ st _ < "/proc/$p/stat" && [ "$st" != Z ]; do
    n=$((n + 1))
    [ "$n" -le 5000 ] || { echo "oci-cycle: pid $p still running after 5000 polls" >&2; exit 1; }
    sleep 0.001
done
exec "$R" --root "$S" delete bench
