//! The SDK's message filter: any origin, window and message data. It must never
//! panic, and must accept nothing but this flow's own, well-formed messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zivacare_connect::invariants;
use zivacare_connect::protocol::{check, Data, Field, Incoming};

const ORIGIN: &str = "https://connect.zivacare.com";
const STATE: &str = "st4te_of-this.flow~";

fn field(v: Option<Option<String>>) -> Field {
    match v {
        None => Field::Missing,
        Some(None) => Field::Other,
        Some(Some(s)) => Field::Text(s),
    }
}

type Fields = [Option<Option<String>>; 5];

fuzz_target!(|input: (bool, String, bool, Option<Fields>)| {
    let (same_origin, origin, from_popup, fields) = input;
    // Half the inputs keep the right origin, so the later checks are reached.
    let origin = if same_origin {
        ORIGIN.to_owned()
    } else {
        origin
    };
    let data = match fields {
        None => Data::NotObject,
        Some([kind, state, special_token, code, message]) => Data::Object {
            kind: field(kind),
            state: field(state),
            special_token: field(special_token),
            code: field(code),
            message: field(message),
        },
    };
    let msg = Incoming {
        origin: &origin,
        from_popup,
        data: &data,
    };
    let verdict = check(ORIGIN, STATE, &msg);
    if let Err(broken) = invariants::message_verdict(ORIGIN, STATE, &msg, &verdict) {
        panic!("{broken}");
    }
});
