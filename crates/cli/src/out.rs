//! Printing: results on stdout (text, or JSON with `--json`), progress and warnings where they
//! do not get in the way of a script, errors as `{ code, message, hint }`.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use crate::error::{CliError, Code};

pub struct Out {
    pub json: bool,
    /// Something is due or failed: the command exits with [`Code::Due`]'s status.
    due: std::sync::atomic::AtomicBool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            due: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The command succeeded, but something is due or failed (a scheduled task should alert).
    pub fn mark_due(&self) {
        self.due.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_due(&self) -> bool {
        self.due.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A line for the person: stdout in text mode; stderr with `--json` (stdout is the result).
    pub fn line(&self, text: impl AsRef<str>) {
        say(self.json, text.as_ref());
    }

    /// The result for a script (only with `--json`).
    pub fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value).map_err(CliError::internal)?;
        say(false, &text);
        Ok(())
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        say(true, &format!("warning: {}", text.as_ref()));
    }

    /// Prints a failure on stderr: one JSON object with `--json`, else `error:` / `hint:` lines.
    pub fn error(&self, e: &CliError) {
        if self.json {
            match serde_json::to_string(e) {
                Ok(text) => say(true, &text),
                Err(_) => say(
                    true,
                    r#"{"code":"internal","message":"could not encode the error","hint":null}"#,
                ),
            }
        } else {
            say(true, &format!("error: {}", e.message));
            if let Some(hint) = &e.hint {
                say(true, &format!("hint: {hint}"));
            }
        }
    }
}

/// Prints one line on stdout or stderr. A closed pipe (`| head`) is not an error worth
/// stopping for: a running apply should finish (and save) even if nobody reads its output.
pub fn say(to_stderr: bool, text: &str) {
    let _ = if to_stderr {
        writeln!(std::io::stderr().lock(), "{text}")
    } else {
        writeln!(std::io::stdout().lock(), "{text}")
    };
}

/// Asks "question [y/N]" on the terminal unless `yes`. Without a terminal, `--yes` is required.
pub async fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Code::Cancelled,
            "Nothing was changed: this needs a confirmation and there is no terminal to ask on.",
            Some("Add --yes to confirm in scripts."),
        ));
    }
    let question = question.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{question} [y/N] ");
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(CliError::internal)?
    .map_err(CliError::internal)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::new(
            Code::Cancelled,
            "Nothing was changed.",
            Some("Run the command again and answer y to go ahead."),
        ))
    }
}
