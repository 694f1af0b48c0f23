//! Reads what an export and the change feed read, straight from a database,
//! without the HTTP server: every record of one type in pages of 1,000 in
//! key order (`records::for_each_record`, the export's statements; each
//! written as its export line), then every change from the
//! start of the feed in pages of 1,000.
//!
//! Its work is the same for the same database, so under
//! `valgrind --tool=callgrind` the instruction count compares two builds
//! exactly, on a machine whose speed moves too much for timings to:
//!
//! ```sh
//! cargo build --release -p sinergi-db --example read_cost
//! valgrind --tool=callgrind target/release/examples/read_cost sqlite://bench.db residence_permit
//! ```

use sinergi_db::records::{self, RecordFilter};
use sinergi_db::{changes, envelope, Db, StoreError};

fn main() -> Result<(), StoreError> {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: read_cost DATABASE_URL [RECORD_TYPE]");
        std::process::exit(2);
    };
    let record_type = args.next().unwrap_or_else(|| "residence_permit".into());
    let db = Db::connect(&url, 1)?;
    let (mut records_read, mut bytes, mut changes_read) = (0, 0, 0);
    db.read(|c| {
        let mut lines = Vec::new();
        records::for_each_record(c, &record_type, &RecordFilter::default(), |row| {
            envelope::push_record_json(&mut lines, &row)?;
            lines.push(b'\n');
            records_read += 1;
            bytes += lines.len();
            lines.clear();
            Ok(())
        })?;
        let mut seq = 0;
        loop {
            let rows = changes::list_after_as_sequenced(c, seq, &[], 1000)?;
            let Some(last) = rows.last() else { break };
            seq = last.seq;
            changes_read += rows.len();
        }
        Ok(())
    })?;
    println!("{records_read} records ({bytes} bytes of lines), {changes_read} changes");
    Ok(())
}
