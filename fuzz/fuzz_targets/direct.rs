#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carillon_fuzz::direct(data));
