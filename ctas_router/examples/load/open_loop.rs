//! The open loop: requests sent at a fixed rate whatever the answers do, by one thread
//! over a few keep-alive connections, with latency counted from when each request was
//! due (as wrk2 counts), so a stall counts in full for every request it holds up.
//!
//! One thread, epoll and a timerfd rather than tasks on an async runtime: tokio's timer
//! has a granularity of a millisecond, and on two cores sixteen blocking threads
//! delayed each other more than the server did (benches/RESULTS.md, 2026-12-02). The
//! timerfd wakes the thread at the due time to within microseconds, and its slack is
//! set to the least the kernel allows, so what is counted from due is the server's and
//! the machine's, the same for both sides.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;

use crate::wire::Wire;

/// Connections of a run; a request due while all are busy waits for one (and its wait
/// counts). At 10,000/s and 0.1-0.3 ms an answer, one to three are busy on average.
const CONNECTIONS: usize = 16;

/// What a run measured.
pub struct Latencies {
    /// Each counted request: when it was due (CLOCK_MONOTONIC, ns), and its latency
    /// from then and from when it was sent, ms.
    pub each: Vec<(u64, f64, f64)>,
    /// Requests counted a second, from the first counted one's due time to the last answer.
    pub achieved_rate: f64,
    /// Whether the loop ran at a real-time priority (see `realtime`).
    pub realtime: bool,
    /// CPU time the hypervisor gave to others while this machine's threads were ready
    /// to run, summed over its cores, from the first counted request to the last answer
    /// ([`stolen_ms`]).
    pub stolen_ms: f64,
}

/// The CPU time stolen from this machine so far, ms: the `steal` column of
/// `/proc/stat`'s first line (in USER_HZ ticks), the time a virtual CPU was ready and its
/// host ran something else. On this machine, runs with over 200 ms of it in ten seconds
/// had a p99 of 8-15 ms at 10,000/s on both sides, and those with under 100 ms under
/// 1 ms (benches/RESULTS.md): a run's figures are read beside it.
fn stolen_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat is readable");
    let steal: u64 = stat
        .lines()
        .next()
        .and_then(|cpu| cpu.split_whitespace().nth(8))
        .and_then(|t| t.parse().ok())
        .expect("/proc/stat's first line has a steal column");
    // SAFETY: sysconf reads a constant of the system and touches no memory of ours.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    steal as f64 * 1000.0 / hz as f64
}

/// Run this thread at the lowest real-time priority, so that it is woken when a request
/// is due or an answer comes, ahead of the server's threads. On two cores shared with
/// the server, the kernel's fair scheduler let the generator wait up to a few
/// milliseconds for a core already taken, and that wait was counted as the server's
/// (p99 from due 1.5-1.8 ms at 10,000/s for the router and PostgreSQL alike, with the
/// answers themselves at 0.4-0.5 ms). The thread sleeps in epoll between events, so it
/// takes from the server only the time it works. Needs root (or CAP_SYS_NICE); without
/// it the run goes on and says so.
fn realtime() -> bool {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sets this thread's own policy; param outlives the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc != 0 {
        eprintln!(
            "load: the generator runs at normal priority ({}): its own waits for a core count in the latencies",
            std::io::Error::last_os_error()
        );
    }
    rc == 0
}

/// CLOCK_MONOTONIC in nanoseconds (Instant's clock, in the units the timerfd takes).
fn now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn check(rc: libc::c_int, what: &str) -> libc::c_int {
    assert!(rc >= 0, "{what}: {}", std::io::Error::last_os_error());
    rc
}

/// The timerfd that wakes the loop when the next request is due.
struct Timer(libc::c_int);

impl Timer {
    fn new() -> Timer {
        // SAFETY: plain syscalls on arguments they document; the fd is owned by Timer.
        unsafe {
            // The kernel may delay a timer by the thread's slack (50 µs by default) to
            // batch wake-ups; 1 ns asks it not to.
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
            Timer(check(
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                ),
                "timerfd_create",
            ))
        }
    }

    /// Fire at `at` (CLOCK_MONOTONIC, ns).
    fn at(&self, at: u64) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (at / 1_000_000_000) as libc::time_t,
                tv_nsec: (at % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: the fd is ours; the spec outlives the call.
        let rc = unsafe {
            libc::timerfd_settime(self.0, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut())
        };
        check(rc, "timerfd_settime");
    }

    /// Take the expiry count, so that level-triggered epoll stops reporting it.
    fn clear(&self) {
        let mut n = 0u64;
        // SAFETY: reads at most 8 bytes into n; EAGAIN (not expired) is fine.
        unsafe { libc::read(self.0, (&mut n as *mut u64).cast(), 8) };
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: closes the fd this Timer owns, once.
        unsafe { libc::close(self.0) };
    }
}

struct Epoll(libc::c_int);

impl Epoll {
    fn new() -> Epoll {
        // SAFETY: creates an fd owned by Epoll.
        Epoll(check(
            unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
            "epoll_create1",
        ))
    }

    /// Report `fd` readable with `token`.
    fn add(&self, fd: libc::c_int, token: u64) {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both fds are open; ev outlives the call.
        check(
            unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut ev) },
            "epoll_ctl",
        );
    }

    /// Block until something is readable; how many of `events` say what.
    fn wait(&self, events: &mut [libc::epoll_event]) -> usize {
        loop {
            // SAFETY: events is a writable array of the length given.
            let n =
                unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), events.len() as i32, -1) };
            if n >= 0 {
                return n as usize;
            }
            let e = std::io::Error::last_os_error();
            assert_eq!(e.kind(), ErrorKind::Interrupted, "epoll_wait: {e}");
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: closes the fd this Epoll owns, once.
        unsafe { libc::close(self.0) };
    }
}

/// The timer's token; connections are numbered from 0.
const TIMER: u64 = u64::MAX;

/// Requests of the first second are sent on schedule but not counted: each side's first
/// answers pay for caches being filled and code paged in, once (the router's first
/// thousand lookups held the next ones up by 40-57 ms), which is not what a service
/// that has been running answers in.
const WARM_UP_SECONDS: u64 = 1;

/// Send requests at `rate` per second over CONNECTIONS connections of `wire`, request
/// `i` due `i / rate` seconds after the start, for a second's warm-up and then
/// `seconds`; the latency of every answer after the warm-up. The loop runs on a thread
/// of its own, so that its real-time priority ends with it rather than staying with a
/// thread of the caller's (a runtime's blocking pool reuses its threads).
pub fn run(wire: &dyn Wire, rate: u64, seconds: u64) -> Latencies {
    std::thread::scope(|s| {
        s.spawn(|| run_here(wire, rate, seconds))
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

fn run_here(wire: &dyn Wire, rate: u64, seconds: u64) -> Latencies {
    let realtime = realtime();
    let mut conns: Vec<_> = (0..CONNECTIONS).map(|_| wire.connect()).collect();
    let epoll = Epoll::new();
    let timer = Timer::new();
    epoll.add(timer.0, TIMER);
    for (c, s) in conns.iter().enumerate() {
        s.set_nonblocking(true).unwrap();
        epoll.add(s.as_raw_fd(), c as u64);
    }
    let requests = wire.requests();
    let warm_up = rate * WARM_UP_SECONDS;
    let total = warm_up + rate * seconds;
    let interval = 1e9 / rate as f64;
    let start = now_ns() + 1_000_000;
    let due = |i: u64| start + (i as f64 * interval) as u64;
    let start_counted = due(warm_up);
    // Connections free to send, the last freed first (its buffers are warm).
    let mut idle: Vec<usize> = (0..CONNECTIONS).rev().collect();
    // Each busy connection's request: when it was due and when sent.
    let mut busy = vec![(0u64, 0u64); CONNECTIONS];
    let mut bufs: Vec<Vec<u8>> = (0..CONNECTIONS).map(|_| Vec::with_capacity(4096)).collect();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; CONNECTIONS + 1];
    let mut lat = Vec::with_capacity(total as usize);
    let mut next = 0u64;
    let mut answered = 0u64;
    let mut stolen_before = None;
    while answered < total {
        let now = now_ns();
        if next >= warm_up && stolen_before.is_none() {
            stolen_before = Some(stolen_ms());
        }
        while next < total && due(next) <= now {
            let Some(c) = idle.pop() else { break };
            let req = &requests[next as usize % requests.len()];
            // A request is a few hundred bytes into an empty socket buffer: it is taken
            // whole or the connection is broken.
            let n = conns[c]
                .write(req)
                .expect("the connection takes the request");
            assert_eq!(n, req.len(), "a request written in part");
            busy[c] = (due(next), now_ns());
            next += 1;
        }
        if next < total && !idle.is_empty() {
            timer.at(due(next));
        }
        let ready = epoll.wait(&mut events);
        for token in events[..ready].iter().map(|e| e.u64) {
            if token == TIMER {
                timer.clear();
                continue;
            }
            let c = token as usize;
            loop {
                match conns[c].read(&mut chunk) {
                    Ok(0) => panic!("the server closed connection {c}"),
                    Ok(n) => bufs[c].extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("reading connection {c}: {e}"),
                }
            }
            if let Some(len) = wire.answered(&bufs[c]) {
                let t = now_ns();
                assert_eq!(len, bufs[c].len(), "more than one answer to one request");
                bufs[c].clear();
                let (due, sent) = busy[c];
                if due >= start_counted {
                    lat.push((due, (t - due) as f64 / 1e6, (t - sent) as f64 / 1e6));
                }
                answered += 1;
                idle.push(c);
            }
        }
    }
    let ended = now_ns();
    let stolen = stolen_ms() - stolen_before.expect("the counted requests were sent");
    if let Ok(path) = std::env::var("LOAD_TRACE") {
        let file =
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("LOAD_TRACE {path}: {e}"));
        let mut f = std::io::BufWriter::new(file);
        for (due, from_due, from_sent) in &lat {
            writeln!(f, "{due} {from_due} {from_sent}").unwrap();
        }
    }
    Latencies {
        realtime,
        stolen_ms: stolen,
        achieved_rate: lat.len() as f64 / ((ended - start_counted) as f64 / 1e9),
        each: lat,
    }
}
