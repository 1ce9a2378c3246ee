//! The filter expression parser: arbitrary text either compiles or gives an
//! error with a position; what compiles prints as text that compiles to the
//! same predicate.
#![no_main]

use floe_filter::Filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = Filter::parse(text) {
        let printed = f.to_string();
        let again = Filter::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
        assert_eq!(again, f, "{text:?} printed as {printed:?}");
    }
});
