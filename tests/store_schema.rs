//! The two sets of migrations describe one schema: the same migrations (version and name), and
//! after them the same tables with the same columns, each nullable or not alike, of the same
//! kind (text, a number, bytes), the same primary keys and unique constraints. A column added
//! to one and not the other fails here, with its table and name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use sqlx::{Connection, Row};

/// table -> column -> (kind, nullable)
type Columns = BTreeMap<String, BTreeMap<String, (&'static str, bool)>>;

fn kind(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "number"
    } else if t.contains("TEXT") || t.contains("CHAR") {
        "text"
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        "bytes"
    } else {
        panic!("a column of type {declared}: say which kind it is in tests/store_schema.rs")
    }
}

fn migration_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::root().join("migrations").join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_stores_have_the_same_migrations() {
    let (sqlite, postgres) = (migration_names("sqlite"), migration_names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres list different migrations");
}

async fn sqlite_schema() -> (Columns, BTreeMap<String, Vec<Vec<String>>>) {
    let dir = tempfile::tempdir().unwrap();
    warroom::store::Store::open(dir.path()).await.unwrap().close().await;
    let url = format!("sqlite://{}", dir.path().join("warroom.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let (mut columns, mut keys) = (Columns::new(), BTreeMap::new());
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let mut primary: Vec<(i64, String)> = Vec::new();
        for r in &rows {
            let (name, ty, notnull, pk): (String, String, i64, i64) = (
                r.try_get("name").unwrap(),
                r.try_get("type").unwrap(),
                r.try_get("notnull").unwrap(),
                r.try_get("pk").unwrap(),
            );
            // A primary key column is never null, whether or not it says so.
            columns
                .entry(table.clone())
                .or_default()
                .insert(name.clone(), (kind(&ty), notnull == 0 && pk == 0));
            if pk > 0 {
                primary.push((pk, name));
            }
        }
        primary.sort();
        let mut unique = vec![primary.into_iter().map(|(_, n)| n).collect::<Vec<_>>()];
        let indexes = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA index_list({table})")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for ix in &indexes {
            let (name, is_unique, origin): (String, i64, String) =
                (ix.try_get("name").unwrap(), ix.try_get("unique").unwrap(), ix.try_get("origin").unwrap());
            if is_unique == 1 && origin != "pk" {
                let cols = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA index_info({name})")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                unique.push(cols.iter().map(|c| c.try_get::<String, _>("name").unwrap()).collect());
            }
        }
        unique.sort();
        keys.insert(table, unique);
    }
    (columns, keys)
}

async fn postgres_schema(url: &str) -> (Columns, BTreeMap<String, Vec<Vec<String>>>) {
    warroom::store::Store::open_postgres(url).await.unwrap().close().await;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut columns = Columns::new();
    for r in &rows {
        let (table, column, ty, nullable): (String, String, String, String) =
            (r.try_get(0).unwrap(), r.try_get(1).unwrap(), r.try_get(2).unwrap(), r.try_get(3).unwrap());
        columns.entry(table).or_default().insert(column, (kind(&ty), nullable == "YES"));
    }
    // Every key, primary or unique (a constraint or a unique index), as its columns in order.
    let rows = sqlx::query(
        "SELECT t.relname::text, array_agg(a.attname::text ORDER BY k.n) \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE i.indisunique AND s.nspname = current_schema() AND t.relname NOT LIKE '\\_sqlx%' \
         GROUP BY t.relname, i.indexrelid",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut keys: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for r in &rows {
        keys.entry(r.try_get(0).unwrap()).or_default().push(r.try_get(1).unwrap());
    }
    for k in keys.values_mut() {
        k.sort();
    }
    (columns, keys)
}

#[tokio::test]
async fn both_stores_migrate_to_the_same_tables_columns_and_keys() {
    let Some(cluster) =
        common::store::postgres_cluster("both_stores_migrate_to_the_same_tables_columns_and_keys")
    else {
        return;
    };
    let url = common::store::fresh_database(&cluster);
    let (sqlite_columns, sqlite_keys) = sqlite_schema().await;
    let (pg_columns, pg_keys) = postgres_schema(&url).await;
    assert!(sqlite_columns.contains_key("audit_log") && sqlite_columns.contains_key("outbox"));
    for (table, columns) in &sqlite_columns {
        let Some(other) = pg_columns.get(table) else { panic!("table {table} is missing on PostgreSQL") };
        for (name, (kind, nullable)) in columns {
            match other.get(name) {
                None => panic!("{table}.{name} is missing on PostgreSQL"),
                Some(o) => assert_eq!(
                    o,
                    &(*kind, *nullable),
                    "{table}.{name}: (kind, nullable) differ; SQLite has {:?}",
                    (kind, nullable)
                ),
            }
        }
        for name in other.keys() {
            assert!(columns.contains_key(name), "{table}.{name} is on PostgreSQL only");
        }
    }
    for table in pg_columns.keys() {
        assert!(sqlite_columns.contains_key(table), "table {table} is on PostgreSQL only");
    }
    assert_eq!(sqlite_keys, pg_keys, "primary keys and unique constraints differ");
}
