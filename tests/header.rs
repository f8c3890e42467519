//! The committed C header is the one cbindgen generates now, and its version macros agree with
//! the crate.

#[test]
fn header_is_fresh() {
    let fresh = include_str!(concat!(env!("OUT_DIR"), "/tonecore.h"));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/tonecore.h"))
            .expect("include/tonecore.h exists");
    assert!(
        fresh == committed,
        "include/tonecore.h is stale: run `cargo build` outside CI and commit the header"
    );
}

#[test]
fn header_versions_match_the_crate() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/tonecore.h"));
    let version = format!("#define TONECORE_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(header.contains(&version));
    let abi = format!("#define TONECORE_ABI_VERSION {}", tonecore::ABI_VERSION);
    assert!(header.contains(&abi));
    assert_eq!(tonecore::ffi::tonecore_abi_version(), tonecore::ABI_VERSION);
    let s = unsafe { std::ffi::CStr::from_ptr(tonecore::ffi::tonecore_version_string()) };
    assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    for (name, part) in ["MAJOR", "MINOR", "PATCH"]
        .iter()
        .zip(env!("CARGO_PKG_VERSION").split('.'))
    {
        assert!(header.contains(&format!("#define TONECORE_VERSION_{name} {part}\n")));
    }
}

/// One function declaration of the header with the comment block right above it.
#[derive(Debug)]
struct Declaration {
    name: String,
    returns: String,
    doc: String,
    /// Names of the pointer parameters and whether each is a `T **` out-parameter.
    pointers: Vec<(String, bool)>,
}

/// Reads every `tonecore_*` function declaration of a cbindgen header (`//` doc comments).
fn declarations(header: &str) -> Vec<Declaration> {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let starts_decl = line.starts_with(|c: char| c.is_ascii_alphabetic())
            && !line.starts_with("typedef")
            && !line.starts_with("struct")
            && !line.starts_with("enum");
        let open = line.find('(');
        let name_start = open.and_then(|p| line[..p].rfind([' ', '*']));
        if let (true, Some(open), Some(start)) = (starts_decl, open, name_start) {
            let name = line[start + 1..open].to_string();
            if name.starts_with("tonecore_") {
                let returns = line[..start + 1].trim().to_string();
                let mut signature = line[open + 1..].to_string();
                let mut j = i;
                while !lines[j].trim_end().ends_with(';') {
                    j += 1;
                    signature.push(' ');
                    signature.push_str(lines[j].trim());
                }
                let params = signature
                    .trim_end()
                    .trim_end_matches(';')
                    .trim_end()
                    .trim_end_matches(')');
                let pointers = params
                    .split(',')
                    .filter(|p| p.contains('*'))
                    .map(|p| {
                        let ident = p.rsplit(['*', ' ']).next().unwrap_or("").to_string();
                        (ident, p.contains("**"))
                    })
                    .collect();
                let mut doc_lines = Vec::new();
                let mut k = i;
                while k > 0 && lines[k - 1].starts_with("//") {
                    k -= 1;
                    doc_lines.push(lines[k].trim_start_matches('/').trim());
                }
                doc_lines.reverse();
                out.push(Declaration {
                    name,
                    returns,
                    doc: doc_lines.join(" "),
                    pointers,
                });
                i = j;
            }
        }
        i += 1;
    }
    out
}

/// `word` occurs in `text` with no identifier character on either side.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(at, _)| !text[..at].ends_with(ident) && !text[at + word.len()..].starts_with(ident))
}

/// The status names (`NULL_POINTER`, ...) the header's `tonecore_status` enum defines, except OK.
fn status_names(header: &str) -> Vec<String> {
    header
        .lines()
        .filter_map(|l| l.trim().strip_prefix("TONECORE_STATUS_"))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| *n != "OK")
        .map(str::to_string)
        .collect()
}

/// Every documentation rule an exported function breaks, one line each.
fn doc_problems(header: &str) -> Vec<String> {
    let statuses = status_names(header);
    let mut problems = Vec::new();
    for d in declarations(header) {
        let doc = d.doc.as_str();
        let lower = doc.to_lowercase();
        let mut problem = |what: &str| problems.push(format!("{}: {what}", d.name));
        if !["audio-safe", "any-thread", "control-thread"]
            .iter()
            .any(|class| doc.contains(&format!("Thread class: {class}")))
        {
            problem("no `Thread class: audio-safe|any-thread|control-thread` line");
        }
        if d.returns == "tonecore_status" {
            if !statuses.iter().any(|s| has_word(doc, s)) {
                problem("returns a tonecore_status but names none of the statuses it returns");
            }
        } else if d.name.ends_with("_free") {
            if !doc.contains("NULL is a no-op") {
                problem("a _free function that does not say `NULL is a no-op`");
            }
        } else if !doc.contains("Cannot fail") {
            problem("returns no status and does not say `Cannot fail`");
        }
        if d.returns.ends_with('*') && !lower.contains("do not free") {
            problem("returns a pointer without saying `do not free`");
        }
        for (pointer, out_object) in &d.pointers {
            if !has_word(doc, pointer) {
                problem(&format!("pointer parameter `{pointer}` is not mentioned"));
            }
            if *out_object && !doc.contains("_free") {
                problem(&format!(
                    "`{pointer}` returns an object but no `_free` is named"
                ));
            }
        }
        if !d.pointers.is_empty()
            && !["borrowed", "copied", "free", "owned"]
                .iter()
                .any(|w| lower.contains(w))
        {
            problem("takes pointers but states no ownership (borrowed / copied / owned / free)");
        }
    }
    problems
}

#[test]
fn every_function_documents_thread_class_statuses_and_ownership() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/tonecore.h"));
    let found = declarations(header);
    // The exported-symbol check (ffi-tests/test_install.sh) ties this list to the library.
    assert!(
        found.len() >= 79,
        "only {} declarations parsed",
        found.len()
    );
    let problems = doc_problems(header);
    assert!(
        problems.is_empty(),
        "{} documentation problems in include/tonecore.h (edit the doc comments in src/ffi):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The checker itself catches each missing piece (so the test above can fail).
#[test]
fn doc_checker_reports_missing_pieces() {
    let enum_part = "enum tonecore_status {\n  TONECORE_STATUS_OK = 0,\n  TONECORE_STATUS_NULL_POINTER = 1,\n};\n";
    let good = "// Does a thing. `x` and `y_out` are borrowed for the call only.\n\
                // Returns `NULL_POINTER`. Thread class: any-thread.\n\
                tonecore_status tonecore_thing(const float *x,\n                               size_t *y_out);\n";
    assert_eq!(
        doc_problems(&format!("{enum_part}{good}")),
        Vec::<String>::new()
    );
    for (broken, expect) in [
        (good.replace("Thread class: any-thread", "Any thread"), "Thread class"),
        (good.replace("`NULL_POINTER`", "an error"), "names none of the statuses"),
        (good.replace("`x` and ", ""), "`x` is not mentioned"),
        (good.replace("are borrowed for the call only", "are pointers"), "no ownership"),
        (
            "// Frees it. Thread class: control-thread.\nvoid tonecore_thing_free(struct tonecore_thing *thing);\n".to_string(),
            "NULL is a no-op",
        ),
        (
            "// Makes one in `thing_out`. Returns `NULL_POINTER`. Thread class: control-thread. Owned by the caller.\n\
             tonecore_status tonecore_thing_new(struct tonecore_thing **thing_out);\n"
                .to_string(),
            "no `_free` is named",
        ),
        (
            "// A name. Cannot fail. Thread class: any-thread.\nconst char *tonecore_name(void);\n"
                .to_string(),
            "do not free",
        ),
    ] {
        let problems = doc_problems(&format!("{enum_part}{broken}"));
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "expected a problem containing {expect:?} for:\n{broken}\ngot {problems:?}"
        );
    }
}
