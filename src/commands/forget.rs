//! `heatpipe forget`: erases a session or an identified visitor from every lane of a site and
//! prints what was removed. The work is `heatpipe_processor::erase`'s.

use anyhow::Context;
use heatpipe_core::keys::validate_site;
use heatpipe_core::wire::validate_session_id;
use heatpipe_processor::erase::ErasureReport;
use heatpipe_renderer::erasure::ErasureTarget;

use super::store_at;
use crate::cli::ForgetArgs;
use crate::config::Config;
use crate::erasure::erase_target;

/// Erases `--session` or `--visitor` from `--site` in `--store` (or the configuration's).
pub async fn run(args: ForgetArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    let location = args.store.unwrap_or(config.store);
    let store = store_at(&location).await?;
    let (target, kind) = match (args.session, args.visitor) {
        (Some(id), None) => {
            validate_session_id(&id).context("--session")?;
            (ErasureTarget::Session(id), "session")
        }
        (None, Some(id)) => (ErasureTarget::Visitor(id), "visitor"),
        _ => anyhow::bail!("give one of --session ID and --visitor ID"),
    };
    let report = erase_target(&store, &config.processor, &args.site, target, args.dry_run)
        .await
        .with_context(|| format!("erasing a {kind} of {} in {location}", args.site))?;
    match report {
        Some(report) => print!("{}", report_text(&report)),
        None => println!(
            "forget visitor on {}: nothing to remove (the site never identified a visitor)",
            args.site
        ),
    }
    Ok(())
}

/// What `forget` prints: a line of totals, a line per day, the audit record.
pub fn report_text(report: &ErasureReport) -> String {
    let subject = &report.subject_hmac[..16];
    let would = if report.dry_run { " (dry run)" } else { "" };
    if !report.removed_anything() {
        return format!(
            "forget {} {subject}… on {}{would}: nothing to remove (already erased or never stored)\n",
            report.kind, report.site
        );
    }
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut text = format!(
        "forget {} {subject}… on {}{would}: {verb} {} session(s), {} stream(s) and {} rrweb batch(es) from {} raw object(s) ({} rewritten, {} deleted)\n",
        report.kind,
        report.site,
        report.num_sessions,
        report.raw.num_streams,
        report.raw.num_rrweb_batches,
        report.raw.rewritten.len() + report.raw.deleted.len(),
        report.raw.rewritten.len(),
        report.raw.deleted.len(),
    );
    if report.replay.changed_anything() {
        text.push_str(&format!(
            "  DOM recordings: {} block(s) from {} replay object(s) ({} rewritten, {} deleted)\n",
            report.replay.num_blocks,
            report.replay.rewritten.len() + report.replay.deleted.len(),
            report.replay.rewritten.len(),
            report.replay.deleted.len(),
        ));
    }
    for day in &report.days {
        let processed = if day.reprocessed {
            "reprocessed"
        } else if report.dry_run {
            "would be reprocessed if processed before"
        } else {
            "not reprocessed"
        };
        text.push_str(&format!(
            "  {}: {} session(s) in the index, {processed}, {} orphaned page aggregate(s) and {} partial(s) deleted\n",
            day.date, day.num_indexed_sessions, day.num_pages_deleted, day.num_partials_deleted
        ));
    }
    for key in report
        .raw
        .unreadable
        .iter()
        .chain(&report.replay.unreadable)
    {
        text.push_str(&format!("  unreadable, left as it is: {key}\n"));
    }
    if let Some(key) = &report.audit_key {
        text.push_str(&format!("  audit record: {key}\n"));
    }
    text
}
