//! `linux.seccomp` (the OCI JSON profile) translated to a classic BPF
//! filter. (To be written.)
