//! The kernel WireGuard path, end to end, in a VM (scripts/vm-test boots one VM and runs
//! tests/vm/*.sh in it against the kernel module). Needs root, qemu, a kernel image and
//! virtme-ng (scripts/install-test-deps); skips with the reason otherwise, or when
//! WGQ_SKIP_VM=1.

use std::process::Command;

#[test]
fn kernel_path_in_a_vm() {
    if std::env::var("WGQ_SKIP_VM").is_ok_and(|v| v == "1") {
        eprintln!("skipped: WGQ_SKIP_VM=1");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(format!("{root}/scripts/vm-test"))
        .env("WGQ", env!("CARGO_BIN_EXE_wgq"))
        .output()
        .expect("run scripts/vm-test");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("{text}");
    if out.status.code() == Some(77) {
        return;
    }
    assert!(out.status.success(), "kernel tests failed in the VM:\n{text}");
    assert!(text.contains(" 0 failed"), "{text}");
}
