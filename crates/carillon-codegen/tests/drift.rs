//! The drift check: the committed generated files are exactly what the committed models generate.

#[test]
fn committed_generated_code_matches_the_models() {
    let root = carillon_codegen::workspace_root();
    let files = carillon_codegen::generate_all(&root).unwrap_or_else(|e| panic!("generation fails: {e}"));
    let mut drifted = Vec::new();
    for file in &files {
        let committed = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
        if committed != file.contents {
            drifted.push(file.path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "generated code is out of date with the models: {}\nregenerate with `cargo run -p carillon-codegen` and commit the result",
        drifted.join(", ")
    );
}
