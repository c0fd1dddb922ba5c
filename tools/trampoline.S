# The exec trampoline (src/confine/trampoline.rs): the tiny program `sandbox`
# execs, from a sealed memfd, in place of a sandbox's command, so that
# while the command's own exec runs /proc/self/exe is that memfd and
# never our binary on the host (a `#!/proc/self/exe` script would
# otherwise get our binary as its interpreter: CVE-2019-5736).
#
# Assemble and compare with the bytes in src/confine/trampoline.rs (`CODE`):
#   as --64 -o /tmp/t.o tools/trampoline.S
#   objcopy -O binary -j .text /tmp/t.o /tmp/t.bin
# (the unit test `trampoline::tests::code_matches_the_source` does this
# when `as` and `objcopy` are installed).
#
# The builder appends the data (`data`, below) right after this code:
#   data+0   report fd (-1: none)          data+8   search: 0 or 1
#   data+16  number of candidate paths
#   data+24  "not found" frame: address, length, exit status (3 x 8)
#   data+48  "interpreter missing" frame: address, length, exit status
#   data+72  candidates, 40 bytes each: path address (NUL-terminated),
#            errno frame address, its length, offset of its u32 errno
#            slot, exit status
# Each frame is a whole report-pipe frame (src/channel.rs), encoded by
# our code before the exec; we only patch an errno in and write it.
#
# What it does: refuse unless the kernel says it was started by execveat
# of an fd (AT_EXECFN "/dev/fd/N": so not as the interpreter of a
# `#!/proc/self/exe` script inside the sandbox); mark the report fd
# close-on-exec again; execve each candidate with our own argv and envp
# (exactly what our code passed); on failure report as child::exec would
# have: search mode goes on past ENOENT, ENOTDIR, ENAMETOOLONG and ELOOP
# and remembers the first EACCES; single mode tells a missing file from
# a missing interpreter with lstat. Then exit with the frame's status.

        .intel_syntax noprefix
        .text
        .globl _start
_start:
        mov     rcx, [rsp]              # argc
        lea     r12, [rsp+8]            # argv
        lea     r13, [r12+rcx*8+8]      # envp
        mov     rax, r13
.Lenv:                                  # skip envp to its NULL
        mov     rdx, [rax]
        add     rax, 8
        test    rdx, rdx
        jnz     .Lenv
.Laux:                                  # rax: the auxiliary vector
        mov     rdx, [rax]
        test    rdx, rdx                # AT_NULL
        jz      .Lrefuse
        cmp     rdx, 31                 # AT_EXECFN
        je      .Lexecfn
        add     rax, 16
        jmp     .Laux
.Lexecfn:
        # The string sits at the top of the stack, followed by at least
        # 8 mapped bytes, so reading 8 is safe whatever its length.
        mov     rsi, [rax+8]
        movabs  rdx, 0x2f64662f7665642f # "/dev/fd/"
        cmp     [rsi], rdx
        jne     .Lrefuse
        lea     rbx, [rip+data]
        mov     rdi, [rbx]              # the report fd
        test    rdi, rdi
        js      1f
        mov     eax, 72                 # fcntl(fd, F_SETFD, FD_CLOEXEC)
        mov     esi, 2
        mov     edx, 1
        syscall
1:
        xor     r14d, r14d              # candidate index
        mov     r15, -1                 # the first that said EACCES
.Ltry:
        cmp     r14, [rbx+16]
        jae     .Lexhausted
        imul    r8, r14, 40
        lea     r8, [rbx+r8+72]
        mov     rdi, [r8]
        mov     rsi, r12
        mov     rdx, r13
        mov     eax, 59                 # execve(path, argv, envp)
        syscall
        neg     eax
        mov     ebp, eax                # errno
        cmp     qword ptr [rbx+8], 0
        je      .Lsingle
        cmp     ebp, 2                  # ENOENT
        je      .Lnext
        cmp     ebp, 20                 # ENOTDIR
        je      .Lnext
        cmp     ebp, 36                 # ENAMETOOLONG
        je      .Lnext
        cmp     ebp, 40                 # ELOOP
        je      .Lnext
        cmp     ebp, 13                 # EACCES
        jne     .Lerrno
        test    r15, r15
        jns     .Lnext
        mov     r15, r14
.Lnext:
        inc     r14
        jmp     .Ltry
.Lexhausted:
        test    r15, r15
        js      .Lnotfound
        mov     r14, r15
        mov     ebp, 13                 # EACCES
        jmp     .Lerrno
.Lsingle:
        cmp     ebp, 2                  # ENOENT: the file, or its interpreter?
        jne     .Lerrno
        sub     rsp, 256                # struct stat
        mov     edi, -100               # AT_FDCWD
        mov     rsi, [r8]
        mov     rdx, rsp
        mov     r10d, 0x100             # AT_SYMLINK_NOFOLLOW
        mov     eax, 262                # newfstatat
        syscall
        test    rax, rax
        jnz     .Lnotfound
        lea     rsi, [rbx+48]           # it exists: its interpreter is missing
        jmp     .Lfixed
.Lnotfound:
        lea     rsi, [rbx+24]
.Lfixed:                                # rsi: {address, length, exit}
        mov     r9, [rsi+16]
        mov     rdx, [rsi+8]
        mov     rsi, [rsi]
        mov     rdi, [rbx]
        mov     eax, 1                  # write(fd, frame, length)
        syscall
        jmp     .Lexit
.Lerrno:                                # r14: candidate, ebp: errno
        imul    r8, r14, 40
        lea     r8, [rbx+r8+72]
        sub     rsp, 64                 # 3 iovecs and the errno
        mov     [rsp+48], ebp
        mov     rax, [r8+8]             # the frame
        mov     rcx, [r8+24]            # its errno slot
        mov     [rsp], rax
        mov     [rsp+8], rcx
        lea     rdx, [rsp+48]
        mov     [rsp+16], rdx
        mov     qword ptr [rsp+24], 4
        lea     rax, [rax+rcx+4]
        mov     [rsp+32], rax
        mov     rdx, [r8+16]
        sub     rdx, rcx
        sub     rdx, 4
        mov     [rsp+40], rdx
        mov     r9, [r8+32]
        mov     rdi, [rbx]
        mov     rsi, rsp
        mov     edx, 3
        mov     eax, 20                 # writev(fd, iov, 3): one write
        syscall
.Lexit:
        mov     rdi, r9
        mov     eax, 231                # exit_group(status)
        syscall
.Lrefuse:
        mov     edi, 2
        lea     rsi, [rip+msg]
        mov     edx, msg_end - msg
        mov     eax, 1                  # write(2, msg, length)
        syscall
        mov     edi, 126
        mov     eax, 231                # exit_group(126)
        syscall
msg:
        .ascii  "sandbox: the exec trampoline is not an interpreter (a #!/proc/self/exe script?)\n"
msg_end:
        .balign 8, 0
data:
