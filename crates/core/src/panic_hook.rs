//! The process-wide panic hook. A panic's message can carry any value (an `unwrap()` on an
//! error that quotes a server's answer, a `panic!` that formats a token), so the hook never
//! prints it, nor a backtrace (whose frames can hold arguments): only where the bug is, and
//! what the user can do. `Secret<T>` already redacts itself; this covers everything else.

/// Replaces the default panic hook for the whole process. `program` names it in the message.
pub fn install(program: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".to_string());
        eprintln!(
            "{program} hit a bug at {location} and stopped. The bug's details are left out because they could contain a secret. \
             Run the same action again: finished steps are not repeated. Please report the bug with this location."
        );
        tracing::error!(%location, "panic (its message is withheld: it could contain a secret)");
    }));
}
