//! Data files embedded deflated by `build.rs` (a tenth of their size in the binary).

/// The bytes of `data/NAME` as `build.rs` deflated them.
macro_rules! deflated {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".deflate"))
    };
}
pub(crate) use deflated;

/// The text of a file embedded with [`deflated!`]; empty if it does not inflate (it was
/// deflated by this build, so that is a broken build, which the crate's tests catch).
pub(crate) fn inflate(bytes: &[u8]) -> String {
    miniz_oxide::inflate::decompress_to_vec(bytes)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .unwrap_or_default()
}
