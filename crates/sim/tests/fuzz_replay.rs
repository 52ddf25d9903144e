//! Stable-toolchain short run of the `sim_filter` fuzz target (`fuzz/`, run long by
//! scripts/fuzz.sh): the saved corpus plus a few thousand mutations of it through
//! `odata::fuzz_surface`, the function the fuzz target calls. A panic names the query.

use std::path::Path;

#[test]
fn graph_query_strings_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sim_filter");
    let seeds: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(seeds.len() >= 5, "the corpus is in {}", dir.display());
    let pieces = [
        "(",
        ")",
        "'",
        "''",
        " and ",
        " or ",
        "not ",
        " eq ",
        " in ",
        "any(",
        "x:x",
        "/",
        ",",
        "$filter=",
        "&$top=",
        "%27",
        "%",
        "null",
        "startswith(",
        "\u{1F600}",
        "999999999999",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cases = seeds.clone();
    for _ in 0..4000 {
        let mut case = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..(1 + next() % 3) {
            let mut at = (next() % (case.len() as u64 + 1)) as usize;
            while !case.is_char_boundary(at) {
                at -= 1;
            }
            if next() % 3 == 0 {
                case.truncate(at);
            } else {
                case.insert_str(at, pieces[(next() % pieces.len() as u64) as usize]);
            }
        }
        cases.push(case);
    }
    for case in cases {
        if std::panic::catch_unwind(|| appgrant_sim::odata::fuzz_surface(&case)).is_err() {
            panic!("the query parser panicked on {case:?}");
        }
    }
}
