//! `heatpipe token create | list | revoke`: the read side's API tokens, kept as hashes under
//! `auth/tokens/` in the store, so every replica reading that store sees them.

use anyhow::Context;
use heatpipe_renderer::auth::{
    Installed, Scope, Secret, create_token, install_token, list_tokens, revoke_token,
};

use super::store_at;
use crate::cli::{TokenAction, TokenArgs};
use crate::config::Config;

/// Runs one token action against the store of `--store` (or the configuration).
pub async fn run(args: TokenArgs, config: Config) -> anyhow::Result<()> {
    match args.action {
        TokenAction::Create {
            store,
            name,
            scope,
            from_env: Some(variable),
        } => {
            let location = store.unwrap_or(config.store);
            let scope = Scope::parse(&scope)?;
            let text = std::env::var(&variable)
                .with_context(|| format!("--from-env: no environment variable {variable}"))?;
            let secret = Secret::parse(&text).with_context(|| format!("--from-env {variable}"))?;
            let store = store_at(&location).await?;
            let installed = install_token(&store, &name, scope, &secret, chrono::Utc::now())
                .await
                .with_context(|| format!("installing token {name:?} in {location}"))?;
            let what = match installed {
                Installed::Created => "created",
                Installed::Replaced => "replaced",
                Installed::Unchanged => "already in place",
            };
            eprintln!("token {name:?} (scope {scope}) from ${variable}: {what}");
        }
        TokenAction::Create {
            store,
            name,
            scope,
            from_env: None,
        } => {
            let location = store.unwrap_or(config.store);
            let scope = Scope::parse(&scope)?;
            let store = store_at(&location).await?;
            let (record, secret) = create_token(&store, &name, scope, chrono::Utc::now())
                .await
                .with_context(|| format!("creating token {name:?} in {location}"))?;
            eprintln!(
                "token {:?} (scope {}) created in {location}; it is shown only this once:",
                record.name, record.scope
            );
            println!("{}", secret.expose());
        }
        TokenAction::List { store } => {
            let location = store.unwrap_or(config.store);
            let store = store_at(&location).await?;
            let records = list_tokens(&store)
                .await
                .with_context(|| format!("listing the tokens of {location}"))?;
            if records.is_empty() {
                eprintln!("no tokens in {location}");
            }
            for record in records {
                println!(
                    "{}\t{}\t{}",
                    record.name,
                    record.scope,
                    record
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
        }
        TokenAction::Revoke { store, name } => {
            let location = store.unwrap_or(config.store);
            let store = store_at(&location).await?;
            revoke_token(&store, &name)
                .await
                .with_context(|| format!("revoking token {name:?} in {location}"))?;
            eprintln!(
                "token {name:?} revoked; read sides refuse it within their token_refresh_ms ({} ms)",
                config.renderer.token_refresh_ms
            );
        }
    }
    Ok(())
}
