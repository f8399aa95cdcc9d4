//! Regenerates `data/catalog.json` from IBKR's scan-parameters.xml and the reference's
//! categories: `cargo run -p scanner-catalog --bin scanner-catalog-gen`.

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"));
    let result = read("scan-parameters.xml").and_then(|xml| {
        let reference = read("scanner_reference.json")?;
        let cat = scanner_catalog::Catalog::from_sources(&xml, &reference).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&cat).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("catalog.json"), json + "\n").map_err(|e| e.to_string())?;
        Ok(cat)
    });
    match result {
        Ok(cat) => {
            println!(
                "wrote data/catalog.json: {} scans, {} filters, {} instruments, {} locations",
                cat.scans.len(),
                cat.filters.len(),
                cat.instruments.len(),
                cat.locations.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("scanner-catalog-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
