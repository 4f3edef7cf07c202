//! The redirect return: any fragment a URL can carry, and any text a
//! tab's storage or a cookie can hold as its pending record. Neither may
//! panic; a return the parser accepts must hold its invariants, and a record
//! must read back as written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zivacare_connect::invariants;
use zivacare_connect::protocol::{parse_return, Pending};

fuzz_target!(|input: (String, String, (String, String, String, bool, f64))| {
    let (fragment, stored, (state, user, url, redirect, expires)) = input;
    if let Some(Ok(r)) = parse_return(&fragment) {
        if let Err(broken) = invariants::accepted_return(&fragment, &r) {
            panic!("{broken}");
        }
    }
    let _ = Pending::decode(&stored);
    let p = Pending {
        state,
        client_id: user.clone(),
        client_user_id: user,
        connect_origin: url.clone(),
        return_url: url,
        redirect,
        expires: if expires.is_finite() { expires } else { 0.0 },
    };
    if let Err(broken) = invariants::pending_round_trip(&p) {
        panic!("{broken}");
    }
});
