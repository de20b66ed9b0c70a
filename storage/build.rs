// `sqlx::migrate!` embeds the migration files at compile time but cannot tell cargo about a
// file added to the folders, so an incremental build would keep serving the old list.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
