//! The bad requests of `bad_input`: a valid batch, and every way of spoiling it, each with the
//! status and message it must get.

use std::io::Write;

use serde_json::{Value, json};

/// A valid native batch of site `shop`.
pub fn good() -> Value {
    json!({
        "site": "shop", "session": "s-1", "seq": 0,
        "page": {"url": "https://shop.example/", "viewport": [1280, 800], "document": [1280, 3000], "started_at": 1_795_168_800_000i64},
        "moves": [[10, 1, 2]], "clicks": [[20, 3, 4, "#buy", 0.5, 0.5]], "scrolls": [[30, 100]]
    })
}

/// The valid batch with the field at `path` set to `value`, as JSON bytes.
pub fn with(path: &[&str], value: Value) -> Vec<u8> {
    let mut batch = good();
    let mut target = &mut batch;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = value;
    serde_json::to_vec(&batch).expect("json")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// One bad request and the answer it must get.
pub struct Case {
    pub name: &'static str,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub status: u16,
    pub message: &'static str,
}

/// A POST of `body` to `/v1/collect` that must get `status` and a message containing `message`.
pub fn case(name: &'static str, body: Vec<u8>, status: u16, message: &'static str) -> Case {
    Case {
        name,
        method: "POST",
        path: "/v1/collect".into(),
        headers: vec![("content-type", "application/json".into())],
        body,
        status,
        message,
    }
}

/// Every bad request the collector must refuse, with its status and a part of its message.
pub fn cases() -> Vec<Case> {
    let rrweb_meta = json!([{"type": 4, "data": {"href": "https://shop.example/", "width": 1280, "height": 800}, "timestamp": 1_795_168_800_000i64}]);
    let long_url = format!("https://shop.example/{}", "a".repeat(3000));
    let many_moves: Vec<Value> = (0..101).map(|i| json!([i, 1, 1])).collect();
    let seventeen_tags: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("t{i}"), json!("v"))).collect();
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut all = vec![
        case("not JSON", b"hello".to_vec(), 400, "not valid JSON"),
        case(
            "no content-length",
            Vec::new(),
            411,
            "content-length header is required",
        ),
        case("empty object", b"{}".to_vec(), 400, "missing field"),
        case(
            "array instead of object",
            b"[1,2,3]".to_vec(),
            400,
            "not valid JSON",
        ),
        case(
            "deeply nested JSON",
            nested.into_bytes(),
            400,
            "not valid JSON",
        ),
        case(
            "unknown field",
            with(&["extra"], json!(1)),
            400,
            "unknown field",
        ),
        case(
            "site of the wrong type",
            with(&["site"], json!(3)),
            400,
            "not valid JSON",
        ),
        case(
            "unknown site",
            with(&["site"], json!("nosuch")),
            404,
            "unknown site",
        ),
        case(
            "malformed site",
            with(&["site"], json!("Shop!")),
            404,
            "unknown site",
        ),
        case(
            "session with spaces",
            with(&["session"], json!("a b")),
            400,
            "session must be",
        ),
        case(
            "session too long",
            with(&["session"], json!("s".repeat(200))),
            400,
            "session must be",
        ),
        case(
            "negative time",
            with(&["moves"], json!([[-5, 1, 1]])),
            400,
            "moves[0] t",
        ),
        case(
            "time past a day",
            with(&["moves"], json!([[90_000_000, 1, 1]])),
            400,
            "moves[0] t",
        ),
        case(
            "absurd coordinate",
            with(&["scrolls"], json!([[1, 1e300]])),
            400,
            "scrolls[0] y",
        ),
        case(
            "negative coordinate far off the page",
            with(&["clicks"], json!([[1, -900000, 2, "#a"]])),
            400,
            "clicks[0] x",
        ),
        case(
            "too many events",
            with(&["moves"], json!(many_moves)),
            400,
            "at most 100",
        ),
        case(
            "javascript URL",
            with(&["page", "url"], json!("javascript:alert(1)")),
            400,
            "http or https",
        ),
        case(
            "relative URL",
            with(&["page", "url"], json!("/cart")),
            400,
            "not a valid absolute URL",
        ),
        case(
            "URL too long",
            with(&["page", "url"], json!(long_url)),
            400,
            "longer than",
        ),
        case(
            "selector too long",
            with(&["clicks"], json!([[1, 1, 1, "a".repeat(300)]])),
            400,
            "selector is longer",
        ),
        case(
            "position inside the target beyond 1",
            with(&["clicks"], json!([[1, 1, 1, "#a", 1.5, 0.5]])),
            400,
            "inside the target",
        ),
        case(
            "zero viewport",
            with(&["page", "viewport"], json!([0, 800])),
            400,
            "page.viewport width",
        ),
        case(
            "bad tag key",
            with(&["page", "tags"], json!({"Bad Key": "x"})),
            400,
            "tag \"Bad Key\"",
        ),
        case(
            "too many tags",
            with(&["page", "tags"], Value::Object(seventeen_tags)),
            400,
            "at most 16",
        ),
        case(
            "resize to zero",
            with(&["resizes"], json!([[1, 0, 10]])),
            400,
            "resizes[0] width",
        ),
    ];
    let mut special = |mut c: Case, edit: &dyn Fn(&mut Case)| {
        edit(&mut c);
        all.push(c);
    };
    special(
        case(
            "wrong content type",
            serde_json::to_vec(&good()).expect("json"),
            415,
            "content type application/xml",
        ),
        &|c| c.headers = vec![("content-type", "application/xml".into())],
    );
    special(
        case(
            "unknown encoding",
            serde_json::to_vec(&good()).expect("json"),
            415,
            "content encoding br",
        ),
        &|c| c.headers.push(("content-encoding", "br".into())),
    );
    special(
        case(
            "body that is not gzip",
            b"plain".to_vec(),
            400,
            "does not decompress",
        ),
        &|c| c.headers.push(("content-encoding", "gzip".into())),
    );
    special(
        case(
            "gzip bomb",
            gzip(&vec![b' '; 10_000_000]),
            413,
            "decompresses to more than",
        ),
        &|c| c.headers.push(("content-encoding", "gzip".into())),
    );
    special(
        case(
            "body over the limit",
            vec![b' '; 100 * 1024],
            413,
            "too large",
        ),
        &|_| {},
    );
    special(
        case(
            "origin not allowed",
            serde_json::to_vec(&good()).expect("json"),
            403,
            "may not send data",
        ),
        &|c| c.headers.push(("origin", "https://evil.example".into())),
    );
    special(
        case(
            "preflight from a foreign origin",
            Vec::new(),
            403,
            "may not send data",
        ),
        &|c| {
            c.method = "OPTIONS";
            c.headers = vec![("origin", "https://evil.example".into())];
        },
    );
    special(
        case(
            "GET on the ingest endpoint",
            Vec::new(),
            405,
            "method not allowed",
        ),
        &|c| c.method = "GET",
    );
    special(
        case("unknown endpoint", Vec::new(), 404, "no such endpoint"),
        &|c| c.path = "/v1/nothing".into(),
    );
    special(
        case(
            "rrweb body that is not an array",
            b"{\"type\": 4}".to_vec(),
            400,
            "JSON array of rrweb events",
        ),
        &|c| c.path = "/v1/rrweb/shop/r-1".into(),
    );
    special(
        case(
            "rrweb unknown site",
            serde_json::to_vec(&rrweb_meta).expect("json"),
            404,
            "unknown site",
        ),
        &|c| c.path = "/v1/rrweb/nosuch/r-3".into(),
    );
    special(
        case(
            "rrweb bad session in path",
            serde_json::to_vec(&rrweb_meta).expect("json"),
            400,
            "session must be",
        ),
        &|c| c.path = "/v1/rrweb/shop/bad%20session".into(),
    );
    special(case("rrweb positive timeOffset", serde_json::to_vec(&json!([rrweb_meta[0], {"type": 3, "data": {"source": 1, "positions": [{"x": 1, "y": 1, "id": 1, "timeOffset": 500}]}, "timestamp": 1_795_168_800_100i64}])).expect("json"), 400, "timeOffset"), &|c| c.path = "/v1/rrweb/shop/r-4".into());
    all
}
