//! floe and ClickHouse: when one collector machine is not enough.
//!
//! Collectors keep their local stores (the source of truth and the durable
//! buffer) and ship what they wrote to one ClickHouse (or a cluster);
//! `floe report --clickhouse` asks it the same questions `floe report`
//! asks the files. This crate holds what that takes:
//!
//! * [`schema`]: the DDL (`floe clickhouse schema` / `init`): the `flows`
//!   table, consolidated tables per 10 minutes and per hour fed by
//!   materialized views, a per-host table; modern, `--legacy` (old servers
//!   such as Debian's 18.16) and `--cluster NAME` variants;
//! * [`rowbinary`]: flows as `RowBinary` rows (the format every server
//!   version reads over HTTP);
//! * [`client`]: a blocking HTTP client with timeouts and bounded answers
//!   (ureq);
//! * [`ship`]: the shipper and its [`state`] file, used by floed's shipping
//!   thread and by `floe ship` (backfill);
//! * [`sql`]: floe's filter language compiled to a `WHERE` condition, and
//!   [`query`], reports compiled to `SELECT`s whose answers are floe's;
//! * [`backend`]: [`ClickHouseBackend`], the query layer's backend on
//!   ClickHouse (`floe web --clickhouse`): the answers of floe-query's
//!   local store, from one `SELECT` per query.
//!
//! # What is shipped: written blocks
//!
//! The shipper never sees a flow before the store has it: it reads the
//! blocks the writer appended to the store's files (following the open
//! file as it grows, with [`floe_store::Tail`]), oldest file first. A
//! ClickHouse that is down, slow or refusing costs nothing but a backlog:
//! the files are the buffer, and expiry spares files not yet shipped
//! (unless the disk limit forces it; those flows are counted as lost to
//! ClickHouse).
//!
//! # Each flow exactly once
//!
//! A row's identity is (`collector`, `file_id`, `block`): the collector's
//! name, the file's identity (a hash of its header: the same whether the
//! file is open, closed, renamed or recovered after a crash), and the
//! offset of the block's frame in the file (the same whether the block is
//! read while the file is written, through the trailer's index, or after
//! recovery, which only cuts a torn tail). A batch is whole blocks.
//!
//! ClickHouse 18.16 has no `insert_deduplication_token`, and a plain
//! MergeTree deduplicates nothing, so the shipper keeps a write-ahead
//! record instead:
//!
//! 1. Before an insert is sent, the state file records it as *in flight*:
//!    its `query_id` and its blocks (file, offset, number of flows) and
//!    the range of their `time` values. Written to a temporary file,
//!    fsynced and renamed.
//! 2. The insert is one HTTP request, one server-side block
//!    (`max_insert_block_size` above the batch size), so per partition it
//!    is all or nothing.
//! 3. When it succeeds, the state records the blocks as shipped and
//!    clears the in-flight record (fsynced again).
//! 4. When its outcome is unknown (the request failed or timed out, floed
//!    was killed mid-request, the server restarted mid-batch), nothing
//!    more is sent until it is settled: the shipper waits until the
//!    server no longer runs that `query_id` (`system.processes`: an insert
//!    whose body fully arrived may still be writing), then counts the
//!    rows of each of the batch's blocks by identity (within the batch's
//!    time range, so few parts are read). Every block whole: shipped.
//!    None: not shipped, and it is read again and sent. Anything else (a
//!    batch spanning two days' partitions cut between them, or rows that
//!    were there twice): those rows are deleted (`ALTER TABLE ... DELETE`,
//!    a mutation, waited for in `system.mutations`) and the batch is sent
//!    again.
//!
//! So a row is in the table once whatever happens to floed or to the
//! server, as long as one shipper ships a store to a table (the state
//! file's lock sees to that) and collectors have distinct names. On a
//! cluster the inserts wait for the shards (`insert_distributed_sync`),
//! rows are sharded by `cityHash64(file_id, block)`, so a retried batch
//! splits the same way and Replicated tables' own block deduplication
//! applies too, and deletions go `ON CLUSTER`.
//!
//! The consolidated tables are fed by materialized views on `flows`,
//! which ClickHouse fills after the `flows` part of an insert is written:
//! a batch cut between partitions never reached them (so deleting its
//! `flows` rows and sending it again is exact there too). What the check
//! cannot see is a server dying between writing the `flows` part and the
//! views' parts of one insert: the consolidated tables would then lack
//! that batch, though `flows` has it. Reports that need exactness over
//! every row read `flows` (`floe report --clickhouse` reads a consolidated
//! table only for queries it can answer from one).
//!
//! # What is not done
//!
//! Nothing here prints or exits: errors are [`ClickHouseError`]s, and what
//! a person should hear of comes back as [`ship::ShipEvent`]s for the
//! binaries to log.
#![forbid(unsafe_code)]

pub mod backend;
pub mod client;
pub mod compressed;
pub mod error;
pub mod query;
pub mod rowbinary;
pub mod schema;
pub mod ship;
pub mod sql;
pub mod state;

pub use backend::ClickHouseBackend;
pub use client::{Client, Secret, Target, Timeouts};
pub use error::{ClickHouseError, Result};
pub use schema::{SchemaOptions, Variant};
pub use ship::{ShipEvent, ShipOptions, Shipper, Status, Step};
pub use sql::Dialect;

/// Applies the schema: creates what is missing and adds the columns a
/// table lacks (later floe versions only add), and says what it did.
pub fn init(client: &Client, schema: &SchemaOptions) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for st in schema.statements() {
        client.execute(&st)?;
    }
    done.push(format!(
        "{} statements applied (CREATE ... IF NOT EXISTS)",
        schema.statements().len()
    ));
    for (table, columns) in schema.tables() {
        let have = client.query(&format!(
            "SELECT name FROM system.columns WHERE database = {} AND table = {} FORMAT TabSeparated",
            sql::string_literal(&schema.database),
            sql::string_literal(&table)
        ))?;
        let have: std::collections::HashSet<&str> = have.lines().collect();
        for (name, ty) in columns {
            if have.contains(name.as_str()) {
                continue;
            }
            let on = schema
                .cluster
                .as_ref()
                .map(|c| format!(" ON CLUSTER {}", schema::ident(c)))
                .unwrap_or_default();
            client.execute(&format!(
                "ALTER TABLE {}.{}{on} ADD COLUMN {} {ty}",
                schema::ident(&schema.database),
                schema::ident(&table),
                schema::ident(&name)
            ))?;
            done.push(format!("added column {name} to {table}"));
        }
    }
    Ok(done)
}

/// The schema variant of an existing `flows` table, from the type of its
/// address columns.
pub fn detect_dialect(client: &Client) -> Result<Dialect> {
    let t = client.target();
    let a = client.query(&format!(
        "SELECT type FROM system.columns WHERE database = {} AND table = {} AND name = 'src_addr' FORMAT TabSeparated",
        sql::string_literal(&t.database),
        sql::string_literal(&t.table)
    ))?;
    match a.trim() {
        "IPv6" => Ok(Dialect::Modern),
        "FixedString(16)" => Ok(Dialect::Legacy),
        "" => Err(ClickHouseError::Refused(format!(
            "{}: no table {}.{} with floe's columns; run floe clickhouse init first",
            t.url, t.database, t.table
        ))),
        other => Err(ClickHouseError::Refused(format!(
            "{}: {}.{}.src_addr is {other}, not floe's IPv6 or FixedString(16)",
            t.url, t.database, t.table
        ))),
    }
}
