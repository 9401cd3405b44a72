//! The systemd units: wgq's own (`wgq@.service`, `wgq.target`) and those of the
//! wgq-wireguard-tools package (`wg-quick@.service`, `wg-quick.target`), shaped like
//! upstream's wg-quick units and accepted by `systemd-analyze verify`.

use std::process::Command;

fn unit(name: &str) -> String {
    std::fs::read_to_string(format!("{}/systemd/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn service_has_upstream_shape() {
    let s = unit("wgq@.service");
    for line in [
        "After=network-online.target nss-lookup.target",
        "Wants=network-online.target nss-lookup.target",
        "PartOf=wgq.target",
        "Before=wgq.target",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=/usr/bin/wgq up $WGQ_UP_FLAGS %i",
        "ExecStop=/usr/bin/wgq down $WGQ_DOWN_FLAGS %i",
        "ExecReload=/usr/bin/wgq reload %i",
        "Environment=WG_ENDPOINT_RESOLUTION_RETRIES=infinity",
        "Environment=WGQ_UP_FLAGS= WGQ_DOWN_FLAGS=",
        "WantedBy=multi-user.target wgq.target",
    ] {
        assert!(s.lines().any(|l| l == line), "missing `{line}`");
    }
    assert!(unit("wgq.target").contains("[Unit]\nDescription="));
    let e = unit("wgq-expire.service");
    assert!(e.lines().any(|l| l == "ExecStart=/usr/bin/wgq peer expire") && e.contains("Type=oneshot"));
    let w = unit("wgq-web.service");
    for line in ["ExecStart=/usr/bin/wgq web $WGQ_WEB_FLAGS", "StateDirectory=wgq/web", "StateDirectoryMode=0700", "UMask=0077"] {
        assert!(w.lines().any(|l| l == line), "wgq-web.service misses `{line}`");
    }
    // Its flags come from the environment: none by default (loopback, every server file).
    let start = w.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert_eq!(expand(start, &[("WGQ_WEB_FLAGS", "")], ""), ["web"]);
    let args = expand(start, &[("WGQ_WEB_FLAGS", "--listen 10.8.0.1:51821  --insecure wg0")], "");
    match wgq::frontend::cli::parse_wgq(&args) {
        wgq::frontend::cli::Invocation::Run(wgq::commands::Command::Web(a)) => {
            assert_eq!(
                (a.listen.as_deref(), a.insecure, a.interfaces.as_slice()),
                (Some("10.8.0.1:51821"), true, &["wg0".to_string()][..])
            );
        }
        other => panic!("{other:?}"),
    }
    let t = unit("wgq-expire.timer");
    assert!(t.lines().any(|l| l == "OnUnitActiveSec=5min") && t.lines().any(|l| l == "WantedBy=timers.target"));
}

/// The command line systemd makes of an Exec line (systemd.service(5), "Command lines"): an
/// unquoted `$VAR` word becomes the value split at white space (no word when empty), `%i`
/// the instance.
fn expand(line: &str, env: &[(&str, &str)], instance: &str) -> Vec<std::ffi::OsString> {
    let cmd = line.split_once('=').unwrap().1;
    cmd.split_whitespace()
        .skip(1)
        .flat_map(|w| match w.strip_prefix('$') {
            Some(v) => env.iter().find(|(k, _)| *k == v).map_or("", |(_, x)| *x).split_whitespace().map(String::from).collect(),
            None => vec![w.replace("%i", instance)],
        })
        .map(Into::into)
        .collect()
}

#[test]
fn unit_flags_from_the_environment_reach_the_grammar() {
    use wgq::commands::Command as C;
    use wgq::frontend::cli::{Invocation, parse_wgq};
    use wgq::plan::KillSwitch;
    let s = unit("wgq@.service");
    let line = |k: &str| s.lines().find(|l| l.starts_with(k)).unwrap().to_string();
    let (start, stop) = (line("ExecStart="), line("ExecStop="));
    for (flags, want) in [
        ("", None),
        ("--kill-switch", Some(KillSwitch { strict: false, allow_lan: false })),
        ("--kill-switch=strict  --allow-lan", Some(KillSwitch { strict: true, allow_lan: true })),
    ] {
        let args = expand(&start, &[("WGQ_UP_FLAGS", flags)], "wg0");
        match parse_wgq(&args) {
            Invocation::Run(C::Up(a)) => {
                assert!(a.target == "wg0" && !a.dry_run && a.kill_switch() == want, "WGQ_UP_FLAGS={flags}: {a:?}")
            }
            other => panic!("WGQ_UP_FLAGS={flags}: {other:?}"),
        }
    }
    for (flags, off) in [("", false), ("--kill-switch=off", true)] {
        let args = expand(&stop, &[("WGQ_DOWN_FLAGS", flags)], "wg0");
        match parse_wgq(&args) {
            Invocation::Run(C::Down(a)) => {
                assert!(a.target == "wg0" && !a.dry_run && a.kill_switch.is_some() == off, "WGQ_DOWN_FLAGS={flags}: {a:?}")
            }
            other => panic!("WGQ_DOWN_FLAGS={flags}: {other:?}"),
        }
    }
    // A typo is a usage error (the unit fails), not a tunnel without a kill switch.
    assert!(matches!(
        parse_wgq(&expand(&start, &[("WGQ_UP_FLAGS", "--kill-swich")], "wg0")),
        Invocation::Print { status: 1, .. }
    ));
}

#[test]
fn reresolve_units_run_every_30_s_bound_to_the_interface_service() {
    let s = unit("wgq-reresolve@.service");
    for line in
        ["Type=oneshot", "ExecStart=/usr/bin/wgq reresolve %i", "After=wgq@%i.service", "ConditionPathExists=/sys/class/net/%i"]
    {
        assert!(s.lines().any(|l| l == line), "wgq-reresolve@.service misses `{line}`");
    }
    assert!(!s.contains("[Install]"), "the service is started by its timer only");
    let t = unit("wgq-reresolve@.timer");
    for line in
        ["BindsTo=wgq@%i.service", "After=wgq@%i.service", "OnActiveSec=30s", "OnUnitActiveSec=30s", "WantedBy=wgq@%i.service"]
    {
        assert!(t.lines().any(|l| l == line), "wgq-reresolve@.timer misses `{line}`");
    }
}

#[test]
fn p2p_units_run_with_the_interface_service() {
    use wgq::commands::Command as C;
    use wgq::commands::p2p::P2pCmd;
    use wgq::frontend::cli::{Invocation, parse_wgq};
    for (name, verb) in [("wgq-p2p-serve@.service", "serve"), ("wgq-p2p@.service", "connect")] {
        let s = unit(name);
        for line in [
            "BindsTo=wgq@%i.service",
            "After=wgq@%i.service",
            "Type=simple",
            &format!("ExecStart=/usr/bin/wgq p2p {verb} $WGQ_P2P_FLAGS %i"),
            "Environment=WGQ_P2P_FLAGS=",
            "WantedBy=wgq@%i.service",
            // Sandboxed (review2): what it needs and no more.
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=-/run/wgq -/run/wireguard",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
            "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
        ] {
            assert!(s.lines().any(|l| l == line), "{name} misses `{line}`");
        }
        let start = s.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        let want = |flags: &str| match (verb, flags) {
            ("serve", "") => P2pCmd::Serve { target: "wg0".into(), port: 51819 },
            ("serve", _) => P2pCmd::Serve { target: "wg0".into(), port: 51900 },
            (_, "") => P2pCmd::Connect { target: "wg0".into(), hub: None },
            _ => P2pCmd::Connect { target: "wg0".into(), hub: Some("10.0.0.1:51900".into()) },
        };
        let flags = if verb == "serve" { "--port=51900" } else { "--hub=10.0.0.1:51900" };
        for f in ["", flags] {
            assert_eq!(parse_wgq(&expand(start, &[("WGQ_P2P_FLAGS", f)], "wg0")), Invocation::Run(C::P2p(want(f))), "{name} {f}");
        }
    }
}

#[test]
fn compat_service_has_upstream_shape_and_runs_wgq() {
    let s = unit("wg-quick@.service");
    // wireguard-tools' directives, with wgq's reload (not `wg syncconf` of the stripped file).
    for line in [
        "After=network-online.target nss-lookup.target",
        "Wants=network-online.target nss-lookup.target",
        "PartOf=wg-quick.target",
        "Documentation=man:wg-quick(8)",
        "Documentation=man:wg(8)",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=/usr/bin/wg-quick up %i",
        "ExecStop=/usr/bin/wg-quick down %i",
        "ExecReload=/usr/bin/wgq reload %i",
        "Environment=WG_ENDPOINT_RESOLUTION_RETRIES=infinity",
        "WantedBy=multi-user.target",
    ] {
        assert!(s.lines().any(|l| l == line), "missing `{line}`");
    }
    assert!(unit("wg-quick.target").contains("[Unit]\nDescription="));
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_wgq");
    for name in [
        "wgq@.service",
        "wgq.target",
        "wgq-expire.service",
        "wgq-expire.timer",
        "wgq-reresolve@.service",
        "wgq-reresolve@.timer",
        "wgq-web.service",
        "wgq-p2p-serve@.service",
        "wgq-p2p@.service",
    ] {
        let text = unit(name).replace("/usr/bin/wgq", exe);
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::copy(dir.path().join("wgq@.service"), dir.path().join("wgq@wg0.service")).unwrap();
    for name in ["wgq-reresolve@.service", "wgq-reresolve@.timer", "wgq-p2p-serve@.service", "wgq-p2p@.service"] {
        std::fs::copy(dir.path().join(name), dir.path().join(name.replace('@', "@wg0"))).unwrap();
    }
    // The drop-in `systemctl edit wgq@wg0` writes for a kill switch.
    std::fs::create_dir(dir.path().join("wgq@wg0.service.d")).unwrap();
    std::fs::write(dir.path().join("wgq@wg0.service.d/override.conf"), "[Service]\nEnvironment=WGQ_UP_FLAGS=--kill-switch\n")
        .unwrap();
    // The compat units run the binary as wg-quick: a link of that name.
    let wg_quick = dir.path().join("wg-quick");
    std::os::unix::fs::symlink(exe, &wg_quick).unwrap();
    for name in ["wg-quick@.service", "wg-quick.target"] {
        let text = unit(name).replace("/usr/bin/wg-quick", wg_quick.to_str().unwrap()).replace("/usr/bin/wgq", exe);
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::copy(dir.path().join("wg-quick@.service"), dir.path().join("wg-quick@wg0.service")).unwrap();
    let out = Command::new("systemd-analyze")
        .args([
            "verify",
            "--man=no",
            "wgq@wg0.service",
            "wgq.target",
            "wg-quick@wg0.service",
            "wg-quick.target",
            "wgq-expire.service",
            "wgq-expire.timer",
            "wgq-reresolve@wg0.service",
            "wgq-reresolve@wg0.timer",
            "wgq-web.service",
            "wgq-p2p-serve@wg0.service",
            "wgq-p2p@wg0.service",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "systemd-analyze verify: {err}");
}
