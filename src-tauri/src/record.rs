//! The change record command: writes a saved connection's record (Markdown or a printable
//! HTML page) to the export folder. Core's `record` module does the work.

use appgrant_core::record::{record_file, RecordError, RecordFormat};
use tauri::{AppHandle, State};

use crate::commands::write_export;
use crate::error::{Code, UiError};
use crate::state::AppState;

impl From<RecordError> for UiError {
    fn from(e: RecordError) -> Self {
        Self::new(Code::Export, e.to_string(), Some(e.hint()))
    }
}

/// Saves the change record of `connection_id` as `format` ("md" or "html") and returns the
/// file's path. The record holds no secret.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn save_change_record(
    app: AppHandle,
    state: State<'_, AppState>,
    connection_id: String,
    format: String,
) -> Result<String, UiError> {
    let format = RecordFormat::parse(&format)?;
    let connection = state.vault.require(&connection_id)?;
    let file = record_file(&connection, &state.recipes()?, format, chrono::Utc::now());
    write_export(&app, &state, &file.file_name, &file.text)
}
