//! flow-tools configuration parsers: filter files (filter-primitive,
//! filter-definition, @{VAR:-default}) and report files (stat-report,
//! stat-definition, include-filter). The first byte picks the parser.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use floe_filter::FilterFile;
use floe_report::statcfg::StatConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let vars = HashMap::from([("PORT".to_string(), "443".to_string())]);
    if which & 1 == 0 {
        if let Ok(ff) = FilterFile::parse(text, "<fuzz>", &vars, 1_795_000_000_000) {
            let names: Vec<String> = ff.definitions().map(str::to_string).collect();
            for n in names {
                let _ = ff.compile(&n);
            }
        }
    } else {
        let _ = StatConfig::parse(text, Path::new("<fuzz>"), &vars);
    }
});
