//! Compresses the dashboard's assets at build time, so the binary embeds them gzipped (the
//! original's CMake step does the same) and no request pays for compression.
//!
//! The gzip header carries no file name and a zero mtime, and the level is fixed, so the same
//! sources always give the same bytes (reproducible builds, stable ETags).

use std::error::Error;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

/// The assets to embed, relative to the crate's directory.
const ASSETS: [&str; 3] = ["index.html", "main.js", "favicon.svg"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for name in ASSETS {
        let source = manifest_dir.join("assets").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let target = out_dir.join(format!("{name}.gz"));
        gzip(&source, &target).map_err(|e| format!("gzip {}: {e}", source.display()))?;
    }
    Ok(())
}

fn gzip(source: &Path, target: &Path) -> Result<(), Box<dyn Error>> {
    let plain = fs::read(source)?;
    // GzBuilder without filename()/mtime() writes neither: the header is the same every time.
    let mut encoder: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    encoder.write_all(&plain)?;
    let compressed = encoder.finish()?;
    fs::write(target, compressed)?;
    Ok(())
}
