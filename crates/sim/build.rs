//! Deflates the large data files embedded in the library (the Graph permission catalog and
//! the Graph service principal, about 0.8 MB of JSON each) into `OUT_DIR`, so the binaries
//! carry a tenth of that; `src/data_file.rs` inflates them on first use.

use std::error::Error;
use std::path::PathBuf;

const FILES: &[&str] = &["permissions.json", "service-principal.json"];

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    for name in FILES {
        let source = PathBuf::from("data").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read(&source)?;
        let packed = miniz_oxide::deflate::compress_to_vec(&text, 10);
        std::fs::write(out.join(format!("{name}.deflate")), packed)?;
    }
    Ok(())
}
