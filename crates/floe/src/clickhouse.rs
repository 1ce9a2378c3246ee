//! `floe clickhouse schema` and `floe clickhouse init URL`, and what the
//! subcommands that talk to ClickHouse share: which server, database and
//! table, and the password (never on the command line, where `ps` shows
//! it: in the URL's user part for the user, from a file or the
//! environment for the password).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use floe_clickhouse::{Client, SchemaOptions, Secret, Target, Timeouts, Variant};

use crate::args::OutputFileArg;
use crate::error::{CliError, Result};
use crate::out::Out;

/// The environment variable holding ClickHouse's password.
pub const PASSWORD_ENV: &str = "FLOE_CLICKHOUSE_PASSWORD";

/// `--clickhouse URL`.
#[derive(Args, Debug, Clone, Default)]
pub struct ClickHouseUrl {
    /// ClickHouse's HTTP interface, http[s]://[USER@]HOST[:PORT]
    /// (password: --password-file, or $FLOE_CLICKHOUSE_PASSWORD).
    #[arg(long = "clickhouse", value_name = "URL")]
    pub url: Option<String>,
}

/// Where floe's tables are, and the password.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "ClickHouse")]
pub struct TableArgs {
    /// ClickHouse database of floe's tables.
    #[arg(long, default_value = "floe", value_name = "NAME")]
    pub database: String,
    /// ClickHouse table of the flows (the consolidated tables are named
    /// after it: TABLE_10m, TABLE_1h, TABLE_hosts_10m).
    #[arg(long, default_value = "flows", value_name = "NAME")]
    pub table: String,
    /// File whose first line is ClickHouse's password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Seconds to wait for ClickHouse's answer to one request.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub timeout: u64,
}

impl TableArgs {
    /// The target: the URL's server and user, these database and table,
    /// and the password from the URL, the file or the environment.
    pub fn target(&self, url: &str) -> Result<Target> {
        let mut t = Target::parse(url, &self.database, &self.table)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if let Some(f) = &self.password_file {
            let text = std::fs::read_to_string(f).map_err(|e| CliError::Read {
                path: f.clone(),
                source: e,
            })?;
            t.password = Some(Secret::new(text.lines().next().unwrap_or("")));
        } else if t.password.is_none() {
            if let Ok(p) = std::env::var(PASSWORD_ENV) {
                t.password = Some(Secret::new(p));
            }
        }
        Ok(t)
    }

    pub fn client(&self, url: &str) -> Result<Client> {
        Ok(Client::new(self.target(url)?, self.timeouts()))
    }

    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(self.timeout.max(1)),
        }
    }
}

/// The schema's shape.
#[derive(Args, Debug, Clone)]
pub struct SchemaArgs {
    /// For old servers (before 19.x, such as Debian's 18.16): no IPv6 type,
    /// LowCardinality, codecs or TTL.
    #[arg(long)]
    pub legacy: bool,
    /// Replicated tables on each shard of this cluster, and Distributed
    /// tables over them (ON CLUSTER).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Days the flows are kept (TTL; modern schema; 0 keeps them).
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub ttl: u32,
    /// Days the consolidated tables are kept (TTL; modern schema; 0 keeps them).
    #[arg(long, default_value_t = 730, value_name = "DAYS")]
    pub consolidated_ttl: u32,
}

impl SchemaArgs {
    fn options(&self, t: &TableArgs) -> SchemaOptions {
        SchemaOptions {
            database: t.database.clone(),
            table: t.table.clone(),
            variant: if self.legacy {
                Variant::Legacy
            } else {
                Variant::Modern
            },
            cluster: self.cluster.clone(),
            ttl_days: self.ttl,
            consolidated_ttl_days: self.consolidated_ttl,
        }
    }
}

/// floe's tables in ClickHouse: print the schema, or apply it.
///
/// Example: floe clickhouse init http://clickhouse:8123 --legacy
#[derive(Args, Debug)]
pub struct ClickHouseArgs {
    #[command(subcommand)]
    command: ClickHouseCommand,
}

#[derive(Subcommand, Debug)]
enum ClickHouseCommand {
    /// Print the DDL (CREATE DATABASE, TABLE, MATERIALIZED VIEW statements).
    Schema {
        #[command(flatten)]
        schema: SchemaArgs,
        #[command(flatten)]
        table: TableArgs,
        #[command(flatten)]
        output: OutputFileArg,
    },
    /// Apply the schema: create what is missing, add missing columns
    /// (later floe versions only add; nothing is dropped or changed).
    Init {
        /// ClickHouse's HTTP interface, http[s]://[USER@]HOST[:PORT].
        #[arg(value_name = "URL")]
        url: String,
        #[command(flatten)]
        schema: SchemaArgs,
        #[command(flatten)]
        table: TableArgs,
    },
}

pub fn run(a: ClickHouseArgs) -> Result<()> {
    match a.command {
        ClickHouseCommand::Schema {
            schema,
            table,
            output,
        } => {
            let mut out = Out::open(output.output.as_deref())?;
            out.text(&schema.options(&table).script())?;
            out.finish()
        }
        ClickHouseCommand::Init { url, schema, table } => {
            let client = table.client(&url)?;
            let done = floe_clickhouse::init(&client, &schema.options(&table))?;
            for d in done {
                crate::error::warn(d);
            }
            Ok(())
        }
    }
}
