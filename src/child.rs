//! Starting the command and acting on its process group. The command runs in a
//! process group of its own, so that a signal reaches a whole shell pipeline
//! and what a script leaves behind can be found and stopped. It inherits
//! stdin, stdout and stderr (or the capture pipes of `output`) and the signal
//! dispositions baton got (as with tini; see `signals`), with an empty signal
//! mask whatever baton or its parent blocked: the mask is inherited across
//! exec, so the child empties it before exec.
//!
//! The child is started the way glibc's `posix_spawn` does it, with
//! `clone(CLONE_VM | CLONE_VFORK)`: it borrows baton's memory until its exec,
//! so nothing is copied and no page of baton's is faulted in again afterwards
//! (0.2 ms of a 1.5 ms `baton -- true`, measured). `posix_spawn` itself is not
//! used because it leaves glibc's two internal signals (32 and 33) ignored in
//! the child, and the standard library's `Command` copies the whole process
//! (fork) whenever the child has work to do before exec. Between clone and
//! exec the child makes raw system calls only, on a stack of its own, reading
//! what the parent prepared; the parent sleeps until the exec (or the child's
//! exit) and learns an exec failure from a field the child wrote.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::ptr;

use anyhow::Result;
use nix::errno::Errno;
use nix::libc::{self, c_char, c_int, c_void};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::exit_code::{Failure, CANNOT_EXECUTE, NOT_FOUND};
use crate::output::Pipes;

/// The child's stack until exec, 16-byte aligned as the x86-64 ABI wants it.
/// The child runs a few raw system calls there: measured, it uses about 110
/// bytes (release) and 690 (debug). Kept under a page so that the frame that
/// holds it needs no stack probe, which would fault in every page of it.
#[repr(C, align(16))]
struct Stack([u8; 3 * 1024]);

/// Starts `argv` in a new process group, with `env` added to baton's
/// environment and the captured streams of `pipes`; returns its pid (also
/// the group's id).
pub fn spawn(
    argv: &[OsString],
    env: &[(OsString, OsString)],
    pipes: Pipes,
    tty: Option<RawFd>,
) -> Result<Pid, Failure> {
    let program = argv.first().ok_or_else(|| Failure {
        code: CANNOT_EXECUTE,
        message: "empty command".to_owned(),
    })?;
    let shown = program.to_string_lossy().into_owned();
    if program.is_empty() {
        // As execvp: an empty name is no file.
        return Err(Failure {
            code: NOT_FOUND,
            message: "command not found: the command is an empty string".to_owned(),
        });
    }
    let cannot = |why: String| Failure {
        code: CANNOT_EXECUTE,
        message: format!("cannot execute {shown}: {why}"),
    };
    let argv = cstrings(argv.iter().map(OsString::as_os_str))
        .ok_or_else(|| cannot("an argument holds a NUL byte".into()))?;
    // Without additions the command gets baton's own environment as it is.
    let envp = if env.is_empty() {
        None
    } else {
        Some(environment(env).ok_or_else(|| cannot("the environment holds a NUL byte".into()))?)
    };
    let path = match &envp {
        Some(vars) => vars
            .iter()
            .find_map(|kv| kv.to_bytes().strip_prefix(b"PATH="))
            .map(<[u8]>::to_vec),
        None => std::env::var_os("PATH").map(OsString::into_vec),
    };
    let candidates = candidates(program.as_bytes(), path.as_deref())
        .ok_or_else(|| cannot("the command holds a NUL byte".into()))?;

    let argv_ptrs = pointers(&argv);
    let envp_ptrs = envp.as_deref().map(pointers);
    let candidate_ptrs: Vec<*const c_char> = candidates.iter().map(|c| c.as_ptr()).collect();
    // For a candidate that is a script without `#!` (ENOEXEC): `/bin/sh
    // CANDIDATE ARG...`, as execvp does it; the child fills in slot 1.
    let mut sh_argv: Vec<*const c_char> = vec![SH.as_ptr().cast(), ptr::null()];
    sh_argv.extend(argv_ptrs.iter().skip(1));

    let mut child = ChildArgs {
        candidates: candidate_ptrs.as_ptr(),
        candidate_count: candidate_ptrs.len(),
        search: !program.as_bytes().contains(&b'/'),
        argv: argv_ptrs.as_ptr(),
        // SAFETY: reading the process's `environ` pointer; nothing changes
        // the environment while baton runs.
        envp: envp_ptrs
            .as_ref()
            .map_or_else(|| unsafe { environ }, Vec::as_ptr),
        sh_argv: sh_argv.as_mut_ptr(),
        stdout: pipes.stdout.as_ref().map_or(-1, AsRawFd::as_raw_fd),
        stderr: pipes.stderr.as_ref().map_or(-1, AsRawFd::as_raw_fd),
        tty: tty.unwrap_or(-1),
        error: 0,
    };
    let pid = clone_child(&mut child).map_err(|err| cannot(err.to_string()))?;
    drop(pipes);
    if child.error == 0 {
        return Ok(pid);
    }
    // The child has exited (127) without running anything: reaped here, as
    // nobody follows it.
    let _ = waitpid(pid, None);
    let err = io::Error::from_raw_os_error(child.error);
    Err(match child.error {
        // The file is there: what is missing is its `#!` interpreter.
        libc::ENOENT if program.as_bytes().contains(&b'/') && Path::new(program).is_file() => {
            Failure {
                code: NOT_FOUND,
                message: format!(
                    "cannot execute {shown}: its interpreter (the #! line) is not found"
                ),
            }
        }
        libc::ENOENT => Failure {
            code: NOT_FOUND,
            message: format!("command not found: {shown}"),
        },
        _ => cannot(err.to_string()),
    })
}

const SH: &[u8] = b"/bin/sh\0";

/// What the child reads (and, on failure, writes) between clone and exec.
/// Raw pointers into vectors the parent keeps alive until the child has
/// exec'd or exited.
#[repr(C)]
struct ChildArgs {
    candidates: *const *const c_char,
    candidate_count: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
    sh_argv: *mut *const c_char,
    /// The candidates come from a PATH search (the name has no `/`).
    search: bool,
    stdout: RawFd,
    stderr: RawFd,
    /// The terminal whose foreground the command gets (see `terminal`), or -1.
    tty: RawFd,
    /// errno of the exec that failed; 0 while nothing failed.
    error: c_int,
}

/// Clones the child with all signals blocked (no handler of baton's may run
/// on the child's stack in the shared memory) and returns once it has exec'd
/// or exited.
#[inline(never)]
fn clone_child(child: &mut ChildArgs) -> io::Result<Pid> {
    // The child's stack is a buffer in this frame, as musl's posix_spawn has
    // it: the parent does not use it while it sleeps in clone, its top pages
    // are already mapped, and there is no mmap/munmap per spawn (an munmap
    // after a CLONE_VM child ran on the other CPU costs a TLB shoot-down).
    let mut stack = MaybeUninit::<Stack>::uninit();
    let all: u64 = !0;
    let mut old: u64 = 0;
    // SAFETY: raw rt_sigprocmask with 8-byte kernel sigsets that outlive the
    // call (the raw call also blocks glibc's internal signals 32 and 33).
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const all,
            &raw mut old,
            8usize,
        );
    }
    // SAFETY: the stack is `stack`, unused by the parent until clone returns,
    // and grows down from its end;
    // `child` and everything it points to live until clone returns, which
    // with CLONE_VFORK is after the child's exec or exit; `child_main` makes
    // only raw system calls.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.as_mut_ptr().wrapping_add(1).cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            ptr::from_mut(child).cast(),
        )
    };
    let clone_error = io::Error::last_os_error();
    // SAFETY: as above; `old` is the mask read before.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const old,
            ptr::null_mut::<u64>(),
            8usize,
        );
    }
    if pid == -1 {
        return Err(clone_error);
    }
    // SAFETY: the child wrote `error` (if at all) before its exec or exit,
    // which CLONE_VFORK waited for; a volatile read, as the compiler does not
    // know that another process wrote it.
    child.error = unsafe { ptr::read_volatile(&raw const child.error) };
    Ok(Pid::from_raw(pid))
}

/// The child, between clone and exec: its own process group, the captured
/// streams, an empty signal mask, then exec of each candidate in turn. baton
/// installs no handler, so no disposition needs changing here. Raw system
/// calls only (no allocation, no lock).
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `ChildArgs` (see `clone_child`); the
    // parent sleeps until this process execs or exits.
    unsafe {
        let child = &mut *arg.cast::<ChildArgs>();
        if libc::syscall(libc::SYS_setpgid, 0, 0) < 0 {
            return fail(child, *libc::__errno_location());
        }
        if child.tty >= 0 {
            // The command's group takes the terminal's foreground, before it
            // can read it. Every signal is blocked here (see `clone_child`),
            // SIGTTOU included, so a group not yet in the foreground may.
            // A pid fits a pid_t: the kernel's are at most 2^22.
            #[allow(clippy::cast_possible_truncation)]
            let group: libc::pid_t = libc::syscall(libc::SYS_getpid) as libc::pid_t;
            libc::syscall(
                libc::SYS_ioctl,
                child.tty,
                libc::TIOCSPGRP,
                &raw const group,
            );
        }
        // dup3 (dup2 is not on every architecture): the pipes are never 1 or 2.
        for (fd, target) in [(child.stdout, 1), (child.stderr, 2)] {
            if fd >= 0 && libc::syscall(libc::SYS_dup3, fd, target, 0) < 0 {
                return fail(child, *libc::__errno_location());
            }
        }
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const empty,
            ptr::null_mut::<u64>(),
            8usize,
        );
        // As execvp: ENOENT and the like move on to the next directory of
        // PATH; EACCES is remembered (reported if nothing else runs); any
        // other error stops the search.
        let mut error = libc::ENOENT;
        let mut denied = false;
        for i in 0..child.candidate_count {
            let candidate = *child.candidates.add(i);
            libc::syscall(libc::SYS_execve, candidate, child.argv, child.envp);
            let mut errno = *libc::__errno_location();
            if errno == libc::ENOEXEC {
                *child.sh_argv.add(1) = candidate;
                libc::syscall(libc::SYS_execve, SH.as_ptr(), child.sh_argv, child.envp);
                errno = *libc::__errno_location();
            }
            match errno {
                _ if !child.search => {
                    error = errno;
                    break;
                }
                libc::EACCES => denied = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                other => {
                    error = other;
                    break;
                }
            }
        }
        if denied && error == libc::ENOENT {
            error = libc::EACCES;
        }
        fail(child, error)
    }
}

/// Leaves `error` for the parent and ends the child (127, as a shell does).
///
/// # Safety
/// Only in the child, with `child` the parent's `ChildArgs`.
unsafe fn fail(child: &mut ChildArgs, error: c_int) -> c_int {
    // SAFETY: the parent reads it after the child's exit (CLONE_VFORK).
    unsafe {
        ptr::write_volatile(&raw mut child.error, error.max(1));
        libc::syscall(libc::SYS_exit_group, 127);
    }
    127
}

/// The files exec tries for `program`: the program itself when it names a
/// path, else `DIR/program` for each directory of PATH (an empty entry is the
/// working directory; no PATH at all means glibc's default, `/bin:/usr/bin`).
fn candidates(program: &[u8], path: Option<&[u8]>) -> Option<Vec<CString>> {
    if program.contains(&b'/') {
        return Some(vec![CString::new(program).ok()?]);
    }
    let path = path.unwrap_or(b"/bin:/usr/bin");
    path.split(|&b| b == b':')
        .map(|dir| {
            let mut file = if dir.is_empty() {
                b".".to_vec()
            } else {
                dir.to_vec()
            };
            file.push(b'/');
            file.extend_from_slice(program);
            CString::new(file).ok()
        })
        .collect()
}

unsafe extern "C" {
    /// The process's environment (POSIX).
    static environ: *const *const c_char;
}

#[cfg(feature = "tekton")]
/// baton's own environment, each `NAME=VALUE` as it is, without the copy
/// of every variable that `std::env::vars_os` makes.
pub fn own_environment() -> impl Iterator<Item = &'static [u8]> {
    // SAFETY: reading the process's `environ` pointer; nothing changes the
    // environment while baton runs.
    let mut entry = unsafe { environ };
    std::iter::from_fn(move || {
        if entry.is_null() {
            return None;
        }
        // SAFETY: `environ` is an array of pointers ended by a null one,
        // and `entry` has not passed that end (it stops on it below).
        let var = unsafe { *entry };
        if var.is_null() {
            return None;
        }
        // SAFETY: within the array, before its end.
        entry = unsafe { entry.add(1) };
        // SAFETY: each entry is a NUL-terminated string that lives as long
        // as the process (the environment is never changed).
        Some(unsafe { std::ffi::CStr::from_ptr(var) }.to_bytes())
    })
}

/// baton's environment with `added` on top (a name already there gets the
/// new value in its old place), as `NAME=VALUE` strings; `None` if one
/// holds a NUL byte.
fn environment(added: &[(OsString, OsString)]) -> Option<Vec<CString>> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (name, value) in added {
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1.clone_from(value),
            None => vars.push((name.clone(), value.clone())),
        }
    }
    vars.into_iter()
        .map(|(name, value)| {
            let mut kv = Vec::with_capacity(name.len() + value.len() + 2);
            kv.extend_from_slice(name.as_bytes());
            kv.push(b'=');
            kv.extend_from_slice(value.as_bytes());
            CString::new(kv).ok()
        })
        .collect()
}

fn cstrings<'a>(words: impl Iterator<Item = &'a OsStr>) -> Option<Vec<CString>> {
    words.map(|w| CString::new(w.as_bytes()).ok()).collect()
}

/// A NULL-terminated array of pointers into `strings`.
fn pointers(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// Sends `signal` to the group; a group that is already gone is not an error.
pub fn signal_group(group: Pid, signal: Signal) {
    match killpg(group, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(err) => tracing::warn!(%signal, %err, "signalling process group {group}"),
    }
}

/// Whether any process of the group is left (zombies not yet reaped included).
pub fn group_exists(group: Pid) -> bool {
    !matches!(killpg(group, None), Err(Errno::ESRCH))
}
