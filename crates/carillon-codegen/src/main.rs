//! Rewrites carillon-api's generated files from the committed models: `cargo run -p carillon-codegen`.
//! With `--check`, writes nothing and exits 1 when a committed file differs.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = carillon_codegen::workspace_root();
    let files = match carillon_codegen::generate_all(&root) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("carillon-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for file in files {
        let path = root.join(&file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == file.contents {
            println!("{} is up to date", file.path.display());
        } else if check {
            eprintln!("{} differs from what the models generate; run `cargo run -p carillon-codegen`", file.path.display());
            status = ExitCode::FAILURE;
        } else if let Err(e) = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &file.contents)) {
            eprintln!("carillon-codegen: write {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", file.path.display());
        }
    }
    status
}
