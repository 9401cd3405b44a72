//! Per-client traffic history: 15-minute slots for the last 24 hours and daily totals for 30
//! days, one fixed-size file per client (`STATE/traffic/IFNAME/CLIENT-ID`, 4096 bytes, 0600,
//! in 0700 directories), updated in place at most once per slot from the shared device read.
//! Nothing of it is kept in memory: a request reads the one file it shows.
//!
//! The file (little-endian): a 64-byte header, then 96 slot records and 30 day records of 32
//! bytes each.
//!
//! - header: `wgqtraf1`, the slot length (u32 seconds), flags (u32; bit 0: the peer was not
//!   on the device at the last sample), the slot of the last sample (u64), the device's
//!   receive and transmit counters then (u64 each), 16 zero bytes, a check (u64) of the 56
//!   bytes before it;
//! - a record: its slot or day number (u64; 0: empty, then all 32 bytes are zero), the bytes
//!   received and transmitted in it (u64 each), a check (u64) of its place and those 24 bytes.
//!   Slot N is record N mod 96, day D (UTC days since 1970) record D mod 30.
//!
//! A file of another size, another slot length or with a failed check is corrupt: a request
//! shows no history for it (with a warning) and the next sample starts it again.
//!
//! Sampling (`sample`, pure): the bytes counted between two samples (the device's counters
//! then and now) go to the slot that just ended (and its day). A counter smaller than the one
//! kept, or a peer that was off the device, means the counters started again (the peer was
//! added again or the device restarted): the counters themselves are then the bytes since.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const SLOTS: usize = 96;
pub const DAYS: usize = 30;
/// The slot length (a test may shorten it with WGQ_WEB_TRAFFIC_SLOT_SECONDS).
pub const SLOT_SECS: u32 = 900;
const MAGIC: &[u8; 8] = b"wgqtraf1";
const HEADER: usize = 64;
const RECORD: usize = 32;
pub const FILE_LEN: usize = HEADER + (SLOTS + DAYS) * RECORD;
const DAY_SECS: u64 = 86_400;

/// A peer's device counters (received, transmitted); None: not on the device.
pub type Counters = Option<(u64, u64)>;

/// Bytes received and transmitted in one slot or day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Record {
    /// The slot or day number; 0: empty.
    pub number: u64,
    pub rx: u64,
    pub tx: u64,
}

/// One client's history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub slot_secs: u32,
    /// The slot of the last sample written (0: none yet).
    pub last_slot: u64,
    /// The device's counters at that sample.
    pub rx: u64,
    pub tx: u64,
    /// The peer was not on the device at that sample.
    pub absent: bool,
    pub slots: [Record; SLOTS],
    pub days: [Record; DAYS],
}

/// Why a file is not a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corrupt {
    #[error("{0} bytes, not {FILE_LEN}")]
    Size(usize),
    #[error("not a wgq traffic file")]
    Magic,
    #[error("slot length {0} s, not {1} s")]
    SlotLength(u32, u32),
    #[error("the header's check failed")]
    Header,
    #[error("record {0} is damaged")]
    Record(usize),
}

/// FNV-1a (64 bits) of `data`, seeded with `place` (a record copied elsewhere fails).
fn check(place: u64, data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ place.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

impl History {
    pub fn new(slot_secs: u32) -> History {
        History {
            slot_secs,
            last_slot: 0,
            rx: 0,
            tx: 0,
            absent: false,
            slots: [Record::default(); SLOTS],
            days: [Record::default(); DAYS],
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; FILE_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&self.slot_secs.to_le_bytes());
        b[12..16].copy_from_slice(&u32::from(self.absent).to_le_bytes());
        b[16..24].copy_from_slice(&self.last_slot.to_le_bytes());
        b[24..32].copy_from_slice(&self.rx.to_le_bytes());
        b[32..40].copy_from_slice(&self.tx.to_le_bytes());
        let c = check(u64::MAX, &b[..56]);
        b[56..64].copy_from_slice(&c.to_le_bytes());
        for (i, r) in self.slots.iter().chain(self.days.iter()).enumerate() {
            if r.number == 0 {
                continue;
            }
            let at = HEADER + i * RECORD;
            b[at..at + 8].copy_from_slice(&r.number.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&r.rx.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&r.tx.to_le_bytes());
            let c = check(i as u64, &b[at..at + 24]);
            b[at + 24..at + 32].copy_from_slice(&c.to_le_bytes());
        }
        b
    }

    /// Reads a file's bytes, checking everything (never panics, whatever `b` holds).
    pub fn decode(b: &[u8], slot_secs: u32) -> Result<History, Corrupt> {
        if b.len() != FILE_LEN {
            return Err(Corrupt::Size(b.len()));
        }
        if &b[..8] != MAGIC {
            return Err(Corrupt::Magic);
        }
        if check(u64::MAX, &b[..56]) != u64_at(b, 56) || b[40..56].iter().any(|&x| x != 0) {
            return Err(Corrupt::Header);
        }
        let secs = u32_at(b, 8);
        if secs != slot_secs {
            return Err(Corrupt::SlotLength(secs, slot_secs));
        }
        let flags = u32_at(b, 12);
        if flags > 1 {
            return Err(Corrupt::Header);
        }
        let mut h = History::new(slot_secs);
        h.absent = flags == 1;
        h.last_slot = u64_at(b, 16);
        h.rx = u64_at(b, 24);
        h.tx = u64_at(b, 32);
        for i in 0..SLOTS + DAYS {
            let at = HEADER + i * RECORD;
            let rec = &b[at..at + RECORD];
            if rec.iter().all(|&x| x == 0) {
                continue;
            }
            let number = u64_at(rec, 0);
            let ring = if i < SLOTS { SLOTS } else { DAYS } as u64;
            let place = if i < SLOTS { i } else { i - SLOTS } as u64;
            if number == 0 || number % ring != place || check(i as u64, &rec[..24]) != u64_at(rec, 24) {
                return Err(Corrupt::Record(i));
            }
            let r = Record { number, rx: u64_at(rec, 8), tx: u64_at(rec, 16) };
            if i < SLOTS {
                h.slots[i] = r;
            } else {
                h.days[i - SLOTS] = r;
            }
        }
        Ok(h)
    }

    /// The bytes of slot `n`, when it was sampled.
    pub fn slot(&self, n: u64) -> Option<(u64, u64)> {
        let r = self.slots[(n % SLOTS as u64) as usize];
        (n != 0 && r.number == n).then_some((r.rx, r.tx))
    }

    /// The bytes of day `d`, when anything was sampled in it.
    pub fn day(&self, d: u64) -> Option<(u64, u64)> {
        let r = self.days[(d % DAYS as u64) as usize];
        (d != 0 && r.number == d).then_some((r.rx, r.tx))
    }

    /// The bytes since the last sample, given the device's counters now (with a restart of
    /// the counters counted from 0).
    pub fn since(&self, rx: u64, tx: u64) -> (u64, u64) {
        if self.absent || rx < self.rx || tx < self.tx { (rx, tx) } else { (rx - self.rx, tx - self.tx) }
    }
}

/// The UTC day of slot `n`.
pub fn day_of(slot: u64, slot_secs: u32) -> u64 {
    slot.saturating_mul(u64::from(slot_secs)) / DAY_SECS
}

fn add(r: &mut Record, number: u64, rx: u64, tx: u64) {
    if r.number != number {
        *r = Record { number, rx: 0, tx: 0 };
    }
    r.rx = r.rx.saturating_add(rx);
    r.tx = r.tx.saturating_add(tx);
}

/// One sample at slot `now` (pure): `live`, the peer's device counters (None: not on the
/// device). Returns whether the history changed (then it is written). At most one change per
/// slot; a slot before the last one (the clock went back) starts the counting again.
pub fn sample(h: &mut History, now: u64, live: Option<(u64, u64)>) -> bool {
    if now == 0 || h.last_slot == now {
        return false;
    }
    let (rx, tx) = live.unwrap_or((0, 0));
    if h.last_slot == 0 || h.last_slot > now {
        (h.last_slot, h.rx, h.tx, h.absent) = (now, rx, tx, live.is_none());
        return true;
    }
    let Some((rx, tx)) = live else {
        if h.absent {
            return false;
        }
        // Its counters start at 0 when it is back.
        (h.last_slot, h.rx, h.tx, h.absent) = (now, 0, 0, true);
        return true;
    };
    let restarted = h.absent || rx < h.rx || tx < h.tx;
    let (drx, dtx) = h.since(rx, tx);
    if !restarted && drx == 0 && dtx == 0 {
        // Nothing moved: nothing written (the next change is counted from the same counters).
        return false;
    }
    let ended = now - 1;
    if drx > 0 || dtx > 0 {
        add(&mut h.slots[(ended % SLOTS as u64) as usize], ended, drx, dtx);
        let day = day_of(ended, h.slot_secs);
        add(&mut h.days[(day % DAYS as u64) as usize], day, drx, dtx);
    }
    (h.last_slot, h.rx, h.tx, h.absent) = (now, rx, tx, false);
    true
}

/// The files of every client of the served interfaces.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    pub slot_secs: u32,
    /// Files removed in the last two slots, with when: the sampler's read of the server file
    /// may be older than a delete, and must not make the file again. Held while a file is
    /// opened by a sample or removed.
    removed: std::sync::Mutex<std::collections::HashMap<PathBuf, std::time::Instant>>,
}

/// A client id is URL-safe base64 (`api::client_id`): no path separator, no dot.
fn safe_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `p` is a directory itself, not a symbolic link to one (whoever may write in the state
/// directory must not make the files be written or removed elsewhere).
fn real_dir(p: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(p)?.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{}: not a directory (a symbolic link is not followed)", p.display())))
    }
}

fn mkdir(p: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(p) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

impl Store {
    pub fn new(state_dir: &Path, slot_secs: u32) -> Store {
        Store { dir: state_dir.join("traffic"), slot_secs: slot_secs.max(1), removed: Default::default() }
    }

    fn path(&self, ifname: &str, id: &str) -> Option<PathBuf> {
        (safe_id(id) && crate::config::locate::is_interface_name(ifname)).then(|| self.dir.join(ifname).join(id))
    }

    /// The client's file: `write`, opened to be written; `create`, made when missing.
    fn open(&self, ifname: &str, id: &str, write: bool, create: bool) -> std::io::Result<Option<std::fs::File>> {
        let Some(p) = self.path(ifname, id) else { return Ok(None) };
        if create {
            mkdir(&self.dir)?;
            mkdir(&self.dir.join(ifname))?;
        }
        for d in [self.dir.clone(), self.dir.join(ifname)] {
            match real_dir(&d) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(None),
                r => r?,
            }
        }
        let r = std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .create(create)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(p);
        match r {
            Ok(f) if f.metadata()?.is_file() => Ok(Some(f)),
            Ok(_) => Err(std::io::Error::other("not a regular file")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads at most `FILE_LEN + 1` bytes.
    fn read_from(f: &std::fs::File) -> std::io::Result<Vec<u8>> {
        let mut b = Vec::with_capacity(FILE_LEN + 1);
        f.take(FILE_LEN as u64 + 1).read_to_end(&mut b)?;
        Ok(b)
    }

    /// A client's history: None when it has none, or when its file is unreadable or corrupt
    /// (with a warning).
    pub fn read(&self, ifname: &str, id: &str) -> Option<History> {
        let warn = |e: &dyn std::fmt::Display| {
            eprintln!("wgq web: warning: traffic history {}/{ifname}/{id} ignored: {e}", self.dir.display());
        };
        let f = match self.open(ifname, id, false, false) {
            Ok(f) => f?,
            Err(e) => {
                warn(&e);
                return None;
            }
        };
        let b = Self::read_from(&f).map_err(|e| warn(&e)).ok()?;
        if b.is_empty() {
            return None;
        }
        History::decode(&b, self.slot_secs).map_err(|e| warn(&e)).ok()
    }

    /// Samples one client at slot `now` (see [`sample`]); a file is made only for a peer on
    /// the device. A corrupt file is started again (with a warning).
    pub fn sample(&self, ifname: &str, id: &str, now: u64, live: Option<(u64, u64)>) -> std::io::Result<()> {
        let removed = super::lock(&self.removed);
        if self.path(ifname, id).is_some_and(|p| removed.get(&p).is_some_and(|t| t.elapsed() < self.removed_for())) {
            return Ok(());
        }
        let f = self.open(ifname, id, true, live.is_some())?;
        drop(removed);
        let Some(mut f) = f else { return Ok(()) };
        let b = Self::read_from(&f)?;
        let mut h = if b.is_empty() {
            History::new(self.slot_secs)
        } else {
            History::decode(&b, self.slot_secs).unwrap_or_else(|e| {
                eprintln!("wgq web: warning: traffic history {}/{ifname}/{id} started again: {e}", self.dir.display());
                History::new(self.slot_secs)
            })
        };
        if !sample(&mut h, now, live) {
            return Ok(());
        }
        if live.is_none() && h.last_slot == now && b.is_empty() {
            return Ok(());
        }
        f.write_all_at(&h.encode(), 0)?;
        if b.len() > FILE_LEN {
            f.set_len(FILE_LEN as u64)?;
        }
        f.flush()
    }

    /// How long a removed file is not made again.
    fn removed_for(&self) -> std::time::Duration {
        std::time::Duration::from_secs(2 * u64::from(self.slot_secs))
    }

    /// Removes a client's file (deleted in the page); a sample in the next two slots does not
    /// make it again.
    pub fn remove(&self, ifname: &str, id: &str) {
        let Some(p) = self.path(ifname, id) else { return };
        let mut removed = super::lock(&self.removed);
        let keep = self.removed_for();
        removed.retain(|_, t| t.elapsed() < keep);
        removed.insert(p.clone(), std::time::Instant::now());
        if let Err(e) = std::fs::remove_file(&p)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("wgq web: warning: {}: {e}", p.display());
        }
    }

    /// Removes the files of `ifname` whose client is gone (`keep(id)` says whether it is not).
    pub fn prune(&self, ifname: &str, keep: impl Fn(&str) -> bool) {
        if !crate::config::locate::is_interface_name(ifname)
            || real_dir(&self.dir).is_err()
            || real_dir(&self.dir.join(ifname)).is_err()
        {
            return;
        }
        let Ok(rd) = std::fs::read_dir(self.dir.join(ifname)) else { return };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(id) = name.to_str() else { continue };
            if safe_id(id) && !keep(id) {
                self.remove(ifname, id);
            }
        }
    }

    /// The history as the API shows it at `now` (seconds since the epoch): the 96 slots up
    /// to the one in progress and the 30 days up to today, oldest first; `current`: the
    /// bytes of the slot in progress so far (known once it was sampled). `null`: no sample.
    pub fn view(&self, h: Option<&History>, now: i64, current: Option<(u64, u64)>) -> serde_json::Value {
        view(h, self.slot_secs, now, current)
    }
}

/// See [`Store::view`] (pure).
pub fn view(h: Option<&History>, slot_secs: u32, now: i64, current: Option<(u64, u64)>) -> serde_json::Value {
    use serde_json::json;
    let secs = u64::from(slot_secs.max(1));
    let now = now.max(0) as u64;
    let slot_now = now / secs;
    let pair = |v: Option<(u64, u64)>| match v {
        Some((rx, tx)) => (json!(rx), json!(tx)),
        None => (serde_json::Value::Null, serde_json::Value::Null),
    };
    let slots: Vec<_> = (0..SLOTS as u64)
        .rev()
        .filter_map(|back| slot_now.checked_sub(back))
        .map(|n| {
            let v = if n == slot_now { current } else { h.and_then(|h| h.slot(n)) };
            let (rx, tx) = pair(v);
            json!({ "start": super::api::iso_time((n * secs) as i64), "rx": rx, "tx": tx })
        })
        .collect();
    let today = now / DAY_SECS;
    let days: Vec<_> = (0..DAYS as u64)
        .rev()
        .filter_map(|back| today.checked_sub(back))
        .map(|d| {
            let mut v = h.and_then(|h| h.day(d));
            if d == today
                && let Some((crx, ctx)) = current
            {
                let (rx, tx) = v.unwrap_or((0, 0));
                v = Some((rx.saturating_add(crx), tx.saturating_add(ctx)));
            }
            let (rx, tx) = pair(v);
            let date = &super::api::iso_time((d * DAY_SECS) as i64)[..10];
            json!({ "date": date, "rx": rx, "tx": tx })
        })
        .collect();
    json!({ "slotSeconds": secs, "slots": slots, "days": days })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock: slot numbers of 15 minutes from a fixed day.
    const T0: u64 = 20_000 * DAY_SECS / 900;

    #[test]
    fn round_trip_and_size() {
        assert_eq!(FILE_LEN, 4096);
        let mut h = History::new(900);
        h.last_slot = T0 + 5;
        (h.rx, h.tx, h.absent) = (7, 9, true);
        h.slots[((T0 + 4) % 96) as usize] = Record { number: T0 + 4, rx: 1, tx: 2 };
        h.days[(20_000 % 30) as usize] = Record { number: 20_000, rx: 3, tx: 4 };
        let b = h.encode();
        assert_eq!(b.len(), FILE_LEN);
        assert_eq!(History::decode(&b, 900), Ok(h.clone()));
        assert_eq!(History::decode(&b, 2), Err(Corrupt::SlotLength(900, 2)));
        assert_eq!(h.slot(T0 + 4), Some((1, 2)));
        assert_eq!(h.slot(T0 + 4 + 96), None, "a slot of another day in the same place");
        assert_eq!(h.day(20_000), Some((3, 4)));
    }

    #[test]
    fn damage_is_found_never_a_panic() {
        let mut h = History::new(900);
        sample(&mut h, T0, Some((10, 10)));
        sample(&mut h, T0 + 1, Some((110, 1010)));
        let good = h.encode();
        assert_eq!(History::decode(&good[..100], 900), Err(Corrupt::Size(100)));
        assert_eq!(History::decode(&[], 900), Err(Corrupt::Size(0)));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(History::decode(&long, 900), Err(Corrupt::Size(FILE_LEN + 1)));
        // Every single flipped bit is found (or leaves an empty record empty and valid).
        for byte in (0..FILE_LEN).step_by(7) {
            let mut b = good.clone();
            b[byte] ^= 0x10;
            if let Ok(d) = History::decode(&b, 900) {
                panic!("byte {byte} changed unnoticed: {d:?}");
            }
        }
        // A record moved to another place fails its check.
        let mut b = good.clone();
        let from = HEADER + (T0 % 96) as usize * RECORD;
        let to = HEADER + ((T0 + 1) % 96) as usize * RECORD;
        let rec = b[from..from + RECORD].to_vec();
        b[to..to + RECORD].copy_from_slice(&rec);
        assert!(History::decode(&b, 900).is_err());
        // Noise.
        let mut x: u64 = 0x1234_5678;
        for _ in 0..200 {
            let b: Vec<u8> = (0..FILE_LEN)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert!(History::decode(&b, 900).is_err());
        }
    }

    #[test]
    fn slots_once_each_and_days_add_up() {
        let mut h = History::new(900);
        assert!(sample(&mut h, T0, Some((1000, 5000))), "the first sample: the counters only");
        assert_eq!(h.slots.iter().filter(|r| r.number != 0).count(), 0);
        assert!(!sample(&mut h, T0, Some((2000, 6000))), "once per slot");
        assert!(sample(&mut h, T0 + 1, Some((1500, 5100))));
        assert_eq!(h.slot(T0), Some((500, 100)), "the slot that ended");
        assert!(sample(&mut h, T0 + 2, Some((1600, 5100))));
        assert_eq!(h.slot(T0 + 1), Some((100, 0)));
        assert!(!sample(&mut h, T0 + 3, Some((1600, 5100))), "nothing moved: nothing written");
        assert!(sample(&mut h, T0 + 5, Some((1700, 5300))));
        assert_eq!((h.slot(T0 + 2), h.slot(T0 + 4)), (None, Some((100, 200))), "after a gap: the slot that ended");
        assert_eq!(h.day(day_of(T0, 900)), Some((700, 300)));
        // A whole day later the ring's places hold the new slots only.
        for n in 0..96 {
            sample(&mut h, T0 + 6 + n, Some((1700 + (n + 1) * 10, 5300)));
        }
        assert_eq!(h.slot(T0), None);
        assert_eq!(h.slot(T0 + 100), Some((10, 0)));
        let total: u64 = (0..30).filter_map(|d| h.day(day_of(T0, 900) + d)).map(|(rx, _)| rx).sum();
        assert_eq!(total, 700 + 960, "every byte in exactly one day");
    }

    #[test]
    fn restarted_counters_never_go_negative() {
        let mut h = History::new(900);
        sample(&mut h, T0, Some((1_000_000, 2_000_000)));
        // The device restarted: smaller counters are the bytes since.
        assert!(sample(&mut h, T0 + 1, Some((300, 400))));
        assert_eq!(h.slot(T0), Some((300, 400)));
        // Only one counter smaller: still a restart (both start again).
        assert!(sample(&mut h, T0 + 2, Some((5000, 100))));
        assert_eq!(h.slot(T0 + 1), Some((5000, 100)));
        // Off the device (disabled), then back: counted from 0.
        assert!(sample(&mut h, T0 + 3, None));
        assert!(h.absent);
        assert!(!sample(&mut h, T0 + 4, None), "still off: nothing written");
        assert!(sample(&mut h, T0 + 5, Some((9000, 9000))));
        assert_eq!(h.slot(T0 + 4), Some((9000, 9000)), "bigger counters after an absence: all new");
        for r in h.slots.iter().chain(h.days.iter()) {
            assert!(r.rx < 1_000_000 && r.tx < 1_000_000, "{r:?}");
        }
        // Restarted to zero: the new counters are kept (nothing counted twice later).
        assert!(sample(&mut h, T0 + 6, Some((0, 0))));
        assert!(sample(&mut h, T0 + 7, Some((50, 60))));
        assert_eq!(h.slot(T0 + 6), Some((50, 60)));
    }

    #[test]
    fn the_clock_going_back_starts_the_counting_again() {
        let mut h = History::new(900);
        sample(&mut h, T0 + 10, Some((100, 100)));
        assert!(sample(&mut h, T0, Some((200, 200))));
        assert_eq!((h.last_slot, h.rx), (T0, 200));
        assert!(h.slots.iter().all(|r| r.number == 0), "nothing recorded for the jump");
    }

    #[test]
    fn the_view_has_96_slots_and_30_days() {
        let mut h = History::new(900);
        sample(&mut h, T0, Some((0, 0)));
        sample(&mut h, T0 + 1, Some((10, 20)));
        let now = ((T0 + 1) * 900 + 30) as i64;
        let v = view(Some(&h), 900, now, Some((1, 2)));
        let slots = v["slots"].as_array().unwrap();
        assert_eq!((slots.len(), v["days"].as_array().unwrap().len()), (96, 30));
        assert_eq!((slots[95]["rx"].as_u64(), slots[95]["tx"].as_u64()), (Some(1), Some(2)), "the slot in progress");
        assert_eq!((slots[94]["rx"].as_u64(), slots[94]["tx"].as_u64()), (Some(10), Some(20)));
        assert!(slots[93]["rx"].is_null(), "no sample: null, not 0");
        assert_eq!(slots[95]["start"], super::super::api::iso_time(((T0 + 1) * 900) as i64));
        let today = &v["days"][29];
        assert_eq!((today["rx"].as_u64(), today["tx"].as_u64()), (Some(11), Some(22)), "today with the slot in progress");
        assert!(v["days"][28]["rx"].is_null());
        assert_eq!(view(None, 900, now, None)["slots"][95]["rx"], serde_json::Value::Null);
    }

    /// `traffic` or `traffic/IF` a symbolic link (made by whoever may write in the state
    /// directory): nothing is read, written or removed where it points.
    #[test]
    fn linked_directories_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("passwd"), "root:x:0:0\n").unwrap();
        let s = Store::new(dir.path(), 900);
        std::fs::create_dir(dir.path().join("traffic")).unwrap();
        std::os::unix::fs::symlink(victim.path(), dir.path().join("traffic/wg0")).unwrap();
        s.prune("wg0", |_| false);
        assert!(victim.path().join("passwd").exists(), "a file where the link points was removed");
        assert!(s.sample("wg0", "AbC", T0, Some((1, 1))).is_err());
        assert!(!victim.path().join("AbC").exists(), "a file made where the link points");
        assert_eq!(s.read("wg0", "passwd"), None);
        // The whole traffic directory a link.
        let dir2 = tempfile::tempdir().unwrap();
        std::fs::create_dir(victim.path().join("wg0")).unwrap();
        std::fs::write(victim.path().join("wg0/shadow"), "x").unwrap();
        std::os::unix::fs::symlink(victim.path(), dir2.path().join("traffic")).unwrap();
        let s2 = Store::new(dir2.path(), 900);
        s2.prune("wg0", |_| false);
        assert!(victim.path().join("wg0/shadow").exists());
        assert!(s2.sample("wg0", "AbC", T0, Some((1, 1))).is_err());
        assert!(!victim.path().join("wg0/AbC").exists());
    }

    /// The sampler works from a read of the server file made before a delete: a sample of
    /// the deleted client just after its file went must not make the file again (it stayed
    /// until the next slot's prune, and showed again for a client added back with its key).
    #[test]
    fn a_deleted_clients_file_is_not_made_again_by_a_late_sample() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path(), 900);
        s.sample("wg0", "AbC", T0, Some((1, 1))).unwrap();
        let p = dir.path().join("traffic/wg0/AbC");
        assert!(p.exists());
        s.remove("wg0", "AbC");
        s.sample("wg0", "AbC", T0 + 1, Some((5, 5))).unwrap();
        assert!(!p.exists(), "made again");
        // Others are sampled as before.
        s.sample("wg0", "Other", T0 + 1, Some((5, 5))).unwrap();
        assert!(dir.path().join("traffic/wg0/Other").exists());
    }

    #[test]
    fn files_are_private_and_corrupt_ones_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path(), 900);
        let id = "AbC-_9";
        s.sample("wg0", id, T0, None).unwrap();
        assert!(!dir.path().join("traffic").exists(), "no file for a peer off the device");
        s.sample("wg0", id, T0, Some((5, 5))).unwrap();
        s.sample("wg0", id, T0 + 1, Some((15, 25))).unwrap();
        let p = dir.path().join("traffic/wg0").join(id);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir.path().join("traffic")), mode(&dir.path().join("traffic/wg0")), mode(&p)), (0o700, 0o700, 0o600));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), FILE_LEN as u64);
        assert_eq!(s.read("wg0", id).unwrap().slot(T0), Some((10, 20)));
        // Truncated: ignored; the next sample starts it again.
        std::fs::write(&p, &std::fs::read(&p).unwrap()[..1000]).unwrap();
        assert_eq!(s.read("wg0", id), None);
        s.sample("wg0", id, T0 + 2, Some((30, 30))).unwrap();
        assert_eq!(s.read("wg0", id).map(|h| h.last_slot), Some(T0 + 2));
        // Ids that are no file name: nothing read or written.
        for bad in ["../x", "", ".", "a/b"] {
            assert_eq!(s.read("wg0", bad), None);
            s.sample("wg0", bad, T0, Some((1, 1))).unwrap();
        }
        assert_eq!(s.read("../etc", id), None);
        // A symbolic link is not followed.
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("traffic/wg0/link")).unwrap();
        assert_eq!(s.read("wg0", "link"), None);
        assert!(s.sample("wg0", "link", T0, Some((1, 1))).is_err());
        // Pruned: only the kept ones stay.
        s.sample("wg0", "other", T0, Some((1, 1))).unwrap();
        s.prune("wg0", |i| i == "other");
        assert!(!p.exists() && dir.path().join("traffic/wg0/other").exists());
        s.remove("wg0", "other");
        assert!(!dir.path().join("traffic/wg0/other").exists());
    }
}
