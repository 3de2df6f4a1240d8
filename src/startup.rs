//! What the standard library's start-up would have done that baton needs,
//! since baton starts from C's `main` (see `main.rs`): make sure file
//! descriptors 0, 1 and 2 are open. Were one closed, the next file baton
//! opens (a marker, a lock) would take its number and the command would
//! write its output into it; a closed one is opened on /dev/null instead.

use nix::libc;

/// Opens /dev/null on any of 0, 1 and 2 that is closed (one `poll`, as the
/// standard library does it).
pub fn init() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    if n < 0 {
        // No poll (a seccomp profile, say): ask each descriptor instead.
        for pfd in &mut fds {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            if unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) } < 0 {
                pfd.revents = libc::POLLNVAL;
            }
        }
    } else if n == 0 {
        return;
    }
    for pfd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // Opened in order, so each takes the lowest free number: the closed
        // one. Without O_CLOEXEC: the command inherits it.
        // SAFETY: a NUL-terminated path; the descriptor is deliberately left open.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != pfd.fd {
            std::process::abort();
        }
    }
}
