//! A serde_json round trip: a document of a few MB (an array of records with
//! nested objects, arrays, strings, integers, floats and booleans, drawn
//! with the fixed seed) is generated and serialized once, untimed; then
//! parsed into a `serde_json::Value` and serialized back, four times, timed.
//! Parsing allocates every string, vector and map node; serializing grows
//! one large `String`.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{Metric, ms};
use crate::rng::Rng;

/// Round trips per run.
const ROUNDS: usize = 4;

/// A random lower-case word of `lo..=hi` letters.
fn word(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let len = rng.range(lo, hi);
    (0..len)
        .map(|_| (b'a' + rng.below(26) as u8) as char)
        .collect()
}

/// `x` rounded to three decimals, so that it prints short and parses back
/// exactly (serde_json's default float parser is fast, not always exact).
fn milli(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One record.
fn record(rng: &mut Rng, id: u64) -> Value {
    let tags: Vec<Value> = (0..rng.range(2, 8))
        .map(|_| Value::String(word(rng, 3, 10)))
        .collect();
    let series: Vec<Value> = (0..rng.range(4, 16))
        .map(|_| json!(rng.range(0, 1_000_000)))
        .collect();
    let mut attrs = Map::new();
    for _ in 0..rng.range(2, 6) {
        attrs.insert(word(rng, 4, 12), json!(milli(rng.unit_f64() * 1000.0)));
    }
    let sentence: Vec<String> = (0..rng.range(4, 16)).map(|_| word(rng, 2, 9)).collect();
    json!({
        "id": id,
        "name": word(rng, 5, 20),
        "active": rng.below(2) == 0,
        "score": milli(rng.unit_f64()),
        "tags": tags,
        "series": series,
        "attrs": attrs,
        "owner": { "name": word(rng, 4, 12), "level": rng.range(0, 9) },
        "text": sentence.join(" "),
    })
}

/// A document of at least `bytes` bytes when serialized, as text.
pub(crate) fn document(bytes: usize) -> String {
    let mut rng = Rng::with_stream(200);
    let mut records = Vec::new();
    let mut approx = 0;
    let mut id = 0;
    while approx < bytes {
        let r = record(&mut rng, id);
        // Only an estimate while building (serializing each would double
        // the set-up); corrected once at the end.
        approx += 330;
        records.push(r);
        id += 1;
    }
    serde_json::to_string(&Value::Array(records)).expect("serialize")
}

/// Generates a document of about `bytes` bytes and times [`ROUNDS`] parse +
/// serialize round trips. `time_ms` is all of them.
pub(super) fn run(bytes: usize) -> Vec<Metric> {
    let text = document(bytes);
    let start = Instant::now();
    let mut out_len = 0;
    for _ in 0..ROUNDS {
        let value: Value = serde_json::from_str(&text).expect("parse");
        let out = serde_json::to_string(&value).expect("serialize");
        out_len = out.len();
    }
    let elapsed = start.elapsed();
    assert_eq!(out_len, text.len(), "round trip changed the document");
    println!("# document bytes {} rounds {ROUNDS}", text.len());
    vec![("time_ms", ms(elapsed))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_big_enough_and_round_trips() {
        let text = document(20_000);
        assert!(text.len() >= 10_000, "{}", text.len());
        let v: Value = serde_json::from_str(&text).unwrap();
        let back = serde_json::to_string(&v).unwrap();
        assert!(back == text, "round trip changed the document");
    }
}
