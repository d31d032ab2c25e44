//! Dead clicks judged by what the page did, in real headless Chromium: a button that opens a
//! fixed-position modal changes no document size, yet the tracker sees the DOM change and the
//! click is not dead; a button that does nothing is. Both through the real collector, store and
//! processor, down to the session index and the element table.

use heatpipe_core::chunk::decode_chunk;
use heatpipe_core::event::{ClickReaction, Stream};
use heatpipe_core::keys::{raw_day_prefix, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_processor::{ProcessOptions, process_day};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_opening_a_fixed_modal_is_not_a_dead_click_and_one_doing_nothing_is() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (server, store, _) = common::demo_server(folder.path()).await;
    let done = common::run_script("reaction.mjs", vec![server.url()]).await;
    server.shutdown().await;
    let session = done["session"].as_str().expect("session id");
    assert_eq!(done["modalShown"], true, "the modal opened");
    assert_eq!(
        done["heights"][0], done["heights"][1],
        "the modal changed no document size"
    );

    let today = chrono::Utc::now().date_naive();
    let mut reactions: Vec<(String, ClickReaction)> = Vec::new();
    for meta in store
        .list(&raw_day_prefix("demo", today))
        .await
        .expect("list")
    {
        let streams: Vec<Stream> =
            decode_chunk(&store.get(&meta.key).await.expect("get")).expect("decode");
        for stream in streams.iter().filter(|s| s.session_id == session) {
            reactions.extend(
                stream
                    .clicks
                    .iter()
                    .map(|c| (c.selector.clone(), c.reaction)),
            );
        }
    }
    reactions.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        reactions,
        [
            ("#nothing".to_owned(), ClickReaction::Nothing),
            ("#open-modal".to_owned(), ClickReaction::DomChanged),
        ],
        "each click carries what the page did"
    );

    process_day(store.clone(), &ProcessOptions::new("demo", today))
        .await
        .expect("process");
    let index = SessionIndex::decode(
        &store
            .get(&session_index_key("demo", today))
            .await
            .expect("index"),
    )
    .expect("decode");
    let ours = index
        .sessions
        .iter()
        .find(|s| s.id == session)
        .expect("the session is indexed");
    assert_eq!(
        ours.frustration.dead_clicks, 1,
        "only the button doing nothing"
    );
    assert_eq!(ours.num_clicks, 2);
}
