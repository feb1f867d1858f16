//! Ctrl-C for a command that runs in the foreground until told to stop (`kube play --wait`,
//! compose's attached `up`): while an [`Interrupts`] guard lives, the first SIGINT, SIGTERM or
//! SIGHUP is noted instead of ending the process, so the command can take down what it made
//! (waits see [`interrupted`]); a second one ends the process at once, as with Podman and
//! docker compose. A signal the process was started ignoring (nohup) stays ignored. Processes
//! started meanwhile get the default actions back at exec.
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The signal noted, 0 for none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn note(signal: libc::c_int) {
    if RECEIVED.swap(signal, Ordering::SeqCst) != 0 {
        // A second one: its default action (end the process).
        // SAFETY: signal and raise are async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

/// Notes interrupts until dropped (then the previous actions are back).
pub struct Interrupts {
    previous: Vec<(Signal, SigAction)>,
}

impl Interrupts {
    pub fn catch() -> Self {
        RECEIVED.store(0, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(note),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let mut previous = Vec::new();
        for signal in SIGNALS {
            // SAFETY: the handler only touches an atomic and async-signal-safe calls.
            #[allow(unsafe_code)]
            let Ok(old) = (unsafe { sigaction(signal, &action) }) else {
                continue;
            };
            if old.handler() == SigHandler::SigIgn {
                // Ignored by whoever started this process (nohup, a background job): it stays so.
                // SAFETY: putting back the action that was there.
                #[allow(unsafe_code)]
                let _ = unsafe { sigaction(signal, &old) };
                continue;
            }
            previous.push((signal, old));
        }
        Self { previous }
    }

    /// The signal that interrupted, if one did.
    pub fn received(&self) -> Option<Signal> {
        Signal::try_from(RECEIVED.load(Ordering::SeqCst)).ok()
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restoring the action that was there before.
            #[allow(unsafe_code)]
            let _ = unsafe { sigaction(*signal, old) };
        }
    }
}

/// Whether an interrupt was noted (by a live [`Interrupts`]).
pub fn interrupted() -> bool {
    RECEIVED.load(Ordering::SeqCst) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIGHUP's action now (set back as it was).
    fn current_action() -> SigHandler {
        let probe = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: the action read is put back at once.
        #[allow(unsafe_code)]
        unsafe {
            let current = sigaction(Signal::SIGHUP, &probe).unwrap();
            sigaction(Signal::SIGHUP, &current).unwrap();
            current.handler()
        }
    }

    #[test]
    fn the_first_interrupt_is_noted_and_the_action_restored_after() {
        // Whatever it was (a CI under nohup ignores SIGHUP), it is that again after.
        let before = current_action();
        let guard = Interrupts::catch();
        assert!(!interrupted());
        if before == SigHandler::SigIgn {
            // An ignored signal stays ignored.
            assert_eq!(current_action(), SigHandler::SigIgn);
        } else {
            nix::sys::signal::raise(Signal::SIGHUP).unwrap();
            assert!(interrupted());
            assert_eq!(guard.received(), Some(Signal::SIGHUP));
        }
        drop(guard);
        assert_eq!(current_action(), before);
    }
}
