//! `wgq run`'s reaper beside threads that run helpers (the web page's changes while it
//! waits): it must take the statuses of orphans only, never of a child another thread
//! started through `os::child` and waits for. Its own test binary: the reaper takes any
//! unregistered child of the process, which other tests' `Command`s would be.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wgq::os::child::{Helper, reap_orphans};

#[test]
fn the_reaper_takes_orphans_only_never_a_helpers_status() {
    let stop = Arc::new(AtomicBool::new(false));
    let reaper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += reap_orphans();
            }
            n
        })
    };
    // Helpers that end at once (the race is right after the fork) and ones that take a
    // moment, each with its own status; and orphans meanwhile, which must be reaped.
    let t = Instant::now();
    let mut orphans = Vec::new();
    for i in 0..400 {
        let code = (i % 7).to_string();
        let script = if i % 2 == 0 { format!("exit {code}") } else { format!("sleep 0.00{}; exit {code}", i % 10) };
        let o = Helper::new("sh", &["-c", &script]).run().unwrap_or_else(|e| panic!("run {i}: {e}"));
        assert_eq!(o.status.code(), Some(i % 7), "run {i}: the status of another");
        if i % 50 == 0 {
            // Not a Group: an orphan as far as the reaper is concerned.
            orphans.push(Command::new("true").spawn().unwrap().id() as i32);
        }
    }
    // The orphans are gone (reaped by the loop, not left as zombies).
    let end = Instant::now() + Duration::from_secs(5);
    while orphans.iter().any(|p| std::path::Path::new(&format!("/proc/{p}")).exists()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let reaped = reaper.join().unwrap();
    for p in &orphans {
        assert!(!std::path::Path::new(&format!("/proc/{p}")).exists(), "orphan {p} was not reaped");
    }
    assert!(reaped >= orphans.len(), "{reaped} reaped, {} orphans", orphans.len());
    eprintln!("400 helpers beside the reaper in {:.1} s, {reaped} orphans reaped", t.elapsed().as_secs_f64());
}

#[test]
fn an_ended_helper_not_yet_waited_for_keeps_its_status_and_the_orphans_behind_it_go() {
    use wgq::os::child::{Event, Group};
    // A helper that has ended (a zombie) and that its owner has not waited for yet, then an
    // orphan that ended after it: the reaper looks at the helper first and must go past it.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exit 7"]);
    let mut g = Group::spawn(&mut cmd).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let orphan = Command::new("true").spawn().unwrap().id();
    std::thread::sleep(Duration::from_millis(200));
    reap_orphans();
    assert!(!std::path::Path::new(&format!("/proc/{orphan}")).exists(), "the orphan behind the helper was not reaped");
    match g.wait(Some(Instant::now() + Duration::from_secs(5)), None, false).unwrap() {
        Event::Exited(s) => assert_eq!(s.code(), Some(7)),
        e => panic!("{e:?}"),
    }
}
