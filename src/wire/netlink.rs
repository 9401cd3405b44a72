//! A small synchronous netlink request loop shared by rtnetlink and generic netlink.
//!
//! Requests are packed into as few `sendmsg` calls as fit a 32 KiB buffer and their
//! acknowledgements drained per chunk, so thousands of routes cost a handful of system
//! calls. Every request gets its own result, so the executor knows exactly which ones
//! took effect.

use std::fmt;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST, NetlinkDeserializable, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable,
};
use netlink_sys::{Socket as SysSocket, SocketAddr};

/// Largest chunk of requests sent in one `sendmsg`.
const SEND_CHUNK: usize = 32 * 1024;
/// At most this many requests per `sendmsg`: the kernel queues one acknowledgement per
/// request before we read any, and each costs about a kilobyte of receive buffer.
const SEND_MAX_MSGS: usize = 128;
/// The receive buffer we ask for (SO_RCVBUFFORCE as root, else capped by rmem_max).
const RCVBUF: usize = 8 * 1024 * 1024;
/// Receive buffer for one `recv` (a dump message of the kernel is at most a few pages).
const RECV_BUF: usize = 256 * 1024;
/// How many times an interrupted dump (NLM_F_DUMP_INTR) is retried, the n-th time after
/// `DUMP_BACKOFF_MS << n` milliseconds (a table being rewritten settles meanwhile).
const DUMP_RETRIES: usize = 5;
const DUMP_BACKOFF_MS: u64 = 5;
/// NETLINK_GET_STRICT_CHK (linux/netlink.h): the kernel honours the filters of dump requests.
const NETLINK_GET_STRICT_CHK: libc::c_int = 12;

/// A netlink failure: the errno the kernel (or the socket) reported, and the kernel's
/// extended-ack message when it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlinkError {
    errno: i32,
    message: Option<String>,
    what: Option<&'static str>,
}

impl NetlinkError {
    pub fn from_errno(errno: i32) -> NetlinkError {
        NetlinkError { errno, message: None, what: None }
    }

    fn protocol(what: &'static str) -> NetlinkError {
        NetlinkError { errno: libc::EPROTO, message: None, what: Some(what) }
    }

    fn io(e: std::io::Error) -> NetlinkError {
        NetlinkError { errno: e.raw_os_error().unwrap_or(libc::EIO), message: None, what: None }
    }

    /// The positive errno.
    pub fn raw_os_error(&self) -> Option<i32> {
        Some(self.errno)
    }

    /// The kernel's extended-ack text (`Unknown device type`), if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // strerror text without Rust's " (os error N)" suffix.
        let e = std::io::Error::from_raw_os_error(self.errno).to_string();
        let e = e.split(" (os error").next().unwrap_or(&e).to_string();
        match (&self.what, &self.message) {
            (Some(w), _) => write!(f, "{w}: {e}"),
            (None, Some(m)) => write!(f, "{e} ({m})"),
            (None, None) => f.write_str(&e),
        }
    }
}

impl std::error::Error for NetlinkError {}

/// A blocking netlink socket bound to the kernel.
pub struct Socket {
    sock: SysSocket,
    seq: u32,
    buf: Vec<u8>,
}

impl Socket {
    /// Opens and binds a socket of `protocol` (`NETLINK_ROUTE`, `NETLINK_GENERIC`).
    pub fn open(protocol: isize) -> Result<Socket, NetlinkError> {
        let mut sock = SysSocket::new(protocol).map_err(NetlinkError::io)?;
        sock.bind_auto().map_err(NetlinkError::io)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(NetlinkError::io)?;
        // Small error messages (no copy of the request) and the kernel's explanation.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        if sock.set_rx_buf_sz(RCVBUF).is_ok() {
            use std::os::fd::AsRawFd;
            let v: libc::c_int = RCVBUF as libc::c_int;
            // SAFETY: setsockopt with a valid fd and an int option value.
            unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        Ok(Socket { sock, seq: 1, buf: vec![0; RECV_BUF] })
    }

    /// Asks the kernel to apply the filters of dump requests (Linux 4.20+); returns whether
    /// it agreed. Callers still check each message, for kernels that do not filter.
    pub fn set_strict(&mut self, on: bool) -> bool {
        use std::os::fd::AsRawFd;
        let v: libc::c_int = on.into();
        // SAFETY: setsockopt with a valid fd and an int option value.
        unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_NETLINK,
                NETLINK_GET_STRICT_CHK,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Serialises `msgs[start..]` into `out` (at most SEND_CHUNK bytes and SEND_MAX_MSGS
    /// requests, at least one) with fresh sequence numbers and `flags` added; returns the
    /// end index and the first sequence number used.
    fn pack<M>(&mut self, msgs: &mut [NetlinkMessage<M>], start: usize, flags: u16, out: &mut Vec<u8>) -> (usize, u32)
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
    {
        out.clear();
        let first_seq = self.seq.wrapping_add(1);
        let mut end = start;
        while end < msgs.len() && end - start < SEND_MAX_MSGS {
            let m = &mut msgs[end];
            m.header.flags |= flags;
            m.finalize();
            let len = m.buffer_len();
            if !out.is_empty() && out.len() + len > SEND_CHUNK {
                break;
            }
            m.header.sequence_number = self.next_seq();
            let at = out.len();
            out.resize(at + len, 0);
            m.serialize(&mut out[at..]);
            end += 1;
        }
        (end, first_seq)
    }

    /// Sends one request and waits for its acknowledgement.
    pub fn request<M>(&mut self, msg: NetlinkMessage<M>) -> Result<(), NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
    {
        self.batch(vec![msg])?.pop().unwrap_or(Ok(()))
    }

    /// Sends many requests, packed into few `sendmsg` calls, and returns one result per
    /// request, in order. The outer error means the socket itself failed.
    pub fn batch<M>(&mut self, mut msgs: Vec<NetlinkMessage<M>>) -> Result<Vec<Result<(), NetlinkError>>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
    {
        let mut results: Vec<Option<Result<(), NetlinkError>>> = vec![None; msgs.len()];
        let mut out = Vec::with_capacity(SEND_CHUNK);
        let mut start = 0;
        while start < msgs.len() {
            let (end, first_seq) = self.pack(&mut msgs, start, NLM_F_REQUEST | NLM_F_ACK, &mut out);
            self.sock.send(&out, 0).map_err(NetlinkError::io)?;
            // Drain one acknowledgement per request of this chunk.
            let mut pending = end - start;
            while pending > 0 {
                let n = self.recv()?;
                let mut off = 0;
                while off < n {
                    let (len, seq, res) = parse_ack::<M>(&self.buf[off..n])?;
                    off += len;
                    let idx = seq.wrapping_sub(first_seq) as usize;
                    if let Some(res) = res
                        && start + idx < end
                        && results[start + idx].is_none()
                    {
                        results[start + idx] = Some(res);
                        pending -= 1;
                    }
                }
            }
            start = end;
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Sends many single-answer GET requests (not dumps) packed into few `sendmsg` calls and
    /// returns each one's reply (or error), in order.
    pub fn get_many<M>(&mut self, mut msgs: Vec<NetlinkMessage<M>>) -> Result<Vec<Result<M, NetlinkError>>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
    {
        let mut results: Vec<Option<Result<M, NetlinkError>>> = (0..msgs.len()).map(|_| None).collect();
        let mut out = Vec::with_capacity(SEND_CHUNK);
        let mut start = 0;
        while start < msgs.len() {
            let (end, first_seq) = self.pack(&mut msgs, start, NLM_F_REQUEST, &mut out);
            self.sock.send(&out, 0).map_err(NetlinkError::io)?;
            let mut pending = end - start;
            while pending > 0 {
                let n = self.recv()?;
                let mut off = 0;
                while off < n {
                    let len = frame_len(&self.buf[off..n])?;
                    let m = NetlinkMessage::<M>::deserialize(&self.buf[off..off + len])
                        .map_err(|_| NetlinkError::protocol("malformed reply"))?;
                    off += len;
                    let idx = start + m.header.sequence_number.wrapping_sub(first_seq) as usize;
                    if idx >= end || results[idx].is_some() {
                        continue;
                    }
                    let r = match m.payload {
                        NetlinkPayload::InnerMessage(i) => Ok(i),
                        NetlinkPayload::Error(e) => {
                            Err(error_from(e.code.map_or(libc::EPROTO, |c| c.get().abs()), m.header.flags, &e.header))
                        }
                        _ => continue,
                    };
                    results[idx] = Some(r);
                    pending -= 1;
                }
            }
            start = end;
        }
        Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err(NetlinkError::protocol("no reply")))).collect())
    }

    fn recv(&mut self) -> Result<usize, NetlinkError> {
        loop {
            match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(NetlinkError::io(e)),
            }
        }
    }

    /// Sends a GET request (a dump when it has NLM_F_DUMP) and returns every reply's
    /// payload. Multi-part replies are collected to NLMSG_DONE, whose errno is honoured;
    /// an interrupted dump (NLM_F_DUMP_INTR) is retried.
    pub fn dump<M>(&mut self, msg: NetlinkMessage<M>) -> Result<Vec<M>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug + Clone,
    {
        self.dump_inner(msg, &mut |_| true, true)
    }

    /// [`Self::dump`], decoding only the messages whose raw frame `keep` accepts (a huge
    /// dump costs little when most of it is not needed). A kept message the typed decoder
    /// cannot parse is an error (the caller needs it: skipping it would give a wrong
    /// answer); frames of other sequence numbers are skipped unread. (A plain [`Self::dump`]
    /// keeps everything and skips what it cannot decode: a link of an unknown kind must not
    /// stop a listing.)
    pub fn dump_where<M>(&mut self, msg: NetlinkMessage<M>, keep: &mut dyn FnMut(&[u8]) -> bool) -> Result<Vec<M>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug + Clone,
    {
        self.dump_inner(msg, keep, false)
    }

    fn dump_inner<M>(
        &mut self,
        msg: NetlinkMessage<M>,
        keep: &mut dyn FnMut(&[u8]) -> bool,
        skip_undecodable: bool,
    ) -> Result<Vec<M>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug + Clone,
    {
        let mut attempt = 0;
        loop {
            match self.dump_once(msg.clone(), keep, skip_undecodable) {
                Err(e) if e.errno == libc::EINTR && attempt < DUMP_RETRIES => {
                    std::thread::sleep(std::time::Duration::from_millis(DUMP_BACKOFF_MS << attempt));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    fn dump_once<M>(
        &mut self,
        mut msg: NetlinkMessage<M>,
        keep: &mut dyn FnMut(&[u8]) -> bool,
        skip_undecodable: bool,
    ) -> Result<Vec<M>, NetlinkError>
    where
        M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
    {
        msg.header.flags |= NLM_F_REQUEST;
        msg.header.sequence_number = self.next_seq();
        let seq = msg.header.sequence_number;
        msg.finalize();
        let mut out = vec![0; msg.buffer_len()];
        msg.serialize(&mut out);
        self.sock.send(&out, 0).map_err(NetlinkError::io)?;
        let mut items = Vec::new();
        let mut interrupted = false;
        loop {
            let n = self.recv()?;
            let mut off = 0;
            let mut multi = false;
            let mut ours = false;
            while off < n {
                let len = frame_len(&self.buf[off..n])?;
                let frame = &self.buf[off..off + len];
                off += len;
                let h = FrameHeader::of(frame);
                if h.seq != seq {
                    continue;
                }
                ours = true;
                interrupted |= h.flags & NLM_F_DUMP_INTR != 0;
                multi |= h.flags & NLM_F_MULTIPART != 0;
                let control = h.kind == NLMSG_ERROR || h.kind == NLMSG_DONE;
                if !control && !keep(frame) {
                    continue;
                }
                let Ok(m) = NetlinkMessage::<M>::deserialize(frame) else {
                    if control || !skip_undecodable {
                        return Err(NetlinkError::protocol("a reply wgq cannot decode"));
                    }
                    continue;
                };
                match m.payload {
                    NetlinkPayload::InnerMessage(i) => items.push(i),
                    NetlinkPayload::Done(d) => {
                        if d.code != 0 {
                            return Err(NetlinkError::from_errno(d.code.abs()));
                        }
                        return if interrupted { Err(NetlinkError::from_errno(libc::EINTR)) } else { Ok(items) };
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            Some(c) => Err(error_from(c.get().abs(), m.header.flags, &e.header)),
                            None => Ok(items),
                        };
                    }
                    _ => {}
                }
            }
            // A single-part answer (a GET that is not a dump) ends with its one message.
            if ours && !multi {
                return Ok(items);
            }
        }
    }
}

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// The fixed header of a netlink frame, read from its bytes (native endian).
struct FrameHeader {
    kind: u16,
    flags: u16,
    seq: u32,
}

impl FrameHeader {
    /// `b` is at least 16 bytes ([`frame_len`] checked it).
    fn of(b: &[u8]) -> FrameHeader {
        FrameHeader {
            kind: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

/// The length of the first netlink frame in `b` (aligned to 4).
fn frame_len(b: &[u8]) -> Result<usize, NetlinkError> {
    if b.len() < 16 {
        return Err(NetlinkError::protocol("truncated reply"));
    }
    let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if len < 16 || len > b.len() {
        return Err(NetlinkError::protocol("truncated reply"));
    }
    Ok(((len + 3) & !3).min(b.len()))
}

/// One frame of an acknowledgement stream: its length, its sequence number, and the
/// result when the frame is an ack or an error.
type AckFrame = (usize, u32, Option<Result<(), NetlinkError>>);

/// Parses one frame of an acknowledgement stream.
fn parse_ack<M>(b: &[u8]) -> Result<AckFrame, NetlinkError>
where
    M: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
{
    let len = frame_len(b)?;
    let m = NetlinkMessage::<M>::deserialize(&b[..len]).map_err(|_| NetlinkError::protocol("malformed ack"))?;
    let seq = m.header.sequence_number;
    let res = match m.payload {
        NetlinkPayload::Error(e) => Some(match e.code {
            None => Ok(()),
            Some(c) => Err(error_from(c.get().abs(), m.header.flags, &e.header)),
        }),
        _ => None,
    };
    Ok((len, seq, res))
}

/// Builds the error of an NLMSG_ERROR, reading the extended-ack message (NLMSGERR_ATTR_MSG)
/// when the kernel attached one (NLM_F_ACK_TLVS; with NETLINK_CAP_ACK the copied request is
/// only its 16-byte header).
fn error_from(errno: i32, flags: u16, payload: &[u8]) -> NetlinkError {
    const NLM_F_ACK_TLVS: u16 = 0x200;
    const NLM_F_CAPPED: u16 = 0x100;
    let mut err = NetlinkError::from_errno(errno);
    if flags & NLM_F_ACK_TLVS == 0 || payload.len() < 16 {
        return err;
    }
    let skip = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        u32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]) as usize
    };
    let mut off = (skip + 3) & !3;
    while off + 4 <= payload.len() {
        let l = u16::from_ne_bytes([payload[off], payload[off + 1]]) as usize;
        let t = u16::from_ne_bytes([payload[off + 2], payload[off + 3]]);
        if l < 4 || off + l > payload.len() {
            break;
        }
        if t == 1 {
            let s = &payload[off + 4..off + l];
            let s = s.split(|&c| c == 0).next().unwrap_or(s);
            err.message = Some(String::from_utf8_lossy(s).into_owned());
        }
        off += (l + 3) & !3;
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_ack_message_is_read() {
        // A capped error: copied header (16 bytes), then NLMSGERR_ATTR_MSG "Unknown device type".
        let mut p = vec![0u8; 16];
        let msg = b"Unknown device type\0";
        let l = 4 + msg.len();
        p.extend_from_slice(&(l as u16).to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(msg);
        let e = error_from(95, 0x300, &p);
        assert_eq!(e.message(), Some("Unknown device type"));
        assert_eq!(e.raw_os_error(), Some(95));
        assert!(e.to_string().starts_with("Operation not supported"));
    }

    #[test]
    fn frames_must_be_whole() {
        assert!(frame_len(&[0u8; 8]).is_err());
        let mut b = vec![0u8; 20];
        b[0] = 20;
        assert_eq!(frame_len(&b).unwrap(), 20);
        b[0] = 40;
        assert!(frame_len(&b).is_err());
    }
}
