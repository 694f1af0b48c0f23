fn main() {
    // Embedded migrations must be re-read when a migration folder is added.
    println!("cargo:rerun-if-changed=../../migrations");
}
