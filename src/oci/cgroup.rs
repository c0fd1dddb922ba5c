//! The container's cgroup: `linux.cgroupsPath` and `linux.resources`.
//! (To be written.)
