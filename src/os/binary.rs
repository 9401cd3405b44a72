//! What this program file is: the target it was built for, and whether it was started
//! without a dynamic loader (a static binary needs no library of the system it runs on).

/// The target triple the binary was built for (set by build.rs).
pub const TARGET: &str = env!("WGQ_TARGET");

/// ELF program header type of the dynamic loader's path.
const PT_INTERP: u32 = 3;

/// Whether the running program has no PT_INTERP program header, i.e. the kernel started
/// it without a dynamic loader: read from the program headers the kernel mapped (the
/// auxiliary vector's AT_PHDR, AT_PHNUM, AT_PHENT), not from how it was meant to be built.
pub fn is_static() -> bool {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave this process.
    let (phdr, phnum, phent) =
        unsafe { (libc::getauxval(libc::AT_PHDR), libc::getauxval(libc::AT_PHNUM), libc::getauxval(libc::AT_PHENT)) };
    if phdr == 0 || phent < 4 {
        return false;
    }
    (0..phnum as usize).all(|i| {
        // SAFETY: the kernel maps the program headers readable; AT_PHNUM entries of
        // AT_PHENT bytes start at AT_PHDR, each with its 32-bit p_type first.
        let p_type = unsafe { std::ptr::read_unaligned((phdr as usize + i * phent as usize) as *const u32) };
        p_type != PT_INTERP
    })
}

/// `wgq --version`: the version on the first line (as before), then the target and how
/// the binary is linked.
pub fn version_text() -> String {
    format!(
        "wgq {}\ntarget {TARGET}, {}\n",
        env!("CARGO_PKG_VERSION"),
        if is_static() { "static (no dynamic loader, no shared library)" } else { "dynamically linked" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_as_built() {
        // Two independent views agree: how the C runtime was linked (crt-static, the
        // default of the musl targets) and what the kernel loaded.
        assert_eq!(is_static(), cfg!(target_feature = "crt-static"));
    }

    #[test]
    fn version_text_names_the_target() {
        let t = version_text();
        let mut lines = t.lines();
        assert_eq!(lines.next(), Some(format!("wgq {}", env!("CARGO_PKG_VERSION")).as_str()));
        let second = lines.next().unwrap();
        assert!(second.starts_with(&format!("target {}-", std::env::consts::ARCH)), "{second}");
        assert!(second.contains("-linux-"), "{second}");
        assert_eq!(lines.next(), None);
    }
}
