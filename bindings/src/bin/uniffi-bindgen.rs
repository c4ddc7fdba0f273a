//! `uniffi-bindgen`: generates the Kotlin and Swift bindings from the built
//! library (`cargo run -p anxin-ffi --bin uniffi-bindgen -- generate …`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
