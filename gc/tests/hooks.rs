//! Callbacks, statistics and the debug log.

use std::cell::RefCell;
use std::rc::Rc;

use cyclegc::{CollectionInfo, Gc, Phase, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn cycle(n: usize) {
    let nodes: Vec<_> = (0..n)
        .map(|_| {
            Gc::new(Node {
                next: RefCell::new(None),
            })
        })
        .collect();
    for i in 0..n {
        *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
    }
}

fn recorder() -> (Rc<RefCell<Vec<CollectionInfo>>>, cyclegc::CallbackId) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let id = cyclegc::add_callback(move |info| l.borrow_mut().push(*info));
    (log, id)
}

#[test]
fn callbacks_see_start_and_stop_with_the_figures() {
    let (log, id) = recorder();
    let keep: Vec<_> = (0..4)
        .map(|_| {
            Gc::new(Node {
                next: RefCell::new(None),
            })
        })
        .collect();
    cycle(3);
    assert_eq!(cyclegc::collect_generation(1), 3);
    let entries = log.borrow().clone();
    assert_eq!(entries.len(), 2);
    let (start, stop) = (entries[0], entries[1]);
    assert_eq!(start.phase, Phase::Start);
    assert_eq!((start.generation, start.candidates), (1, 7));
    assert_eq!((start.collected, start.uncollectable), (0, 0));
    assert_eq!(start.duration, std::time::Duration::ZERO);
    assert_eq!(stop.phase, Phase::Stop);
    assert_eq!((stop.generation, stop.candidates), (1, 7));
    assert_eq!((stop.collected, stop.uncollectable), (3, 0));
    assert!(stop.duration > std::time::Duration::ZERO);
    assert!(cyclegc::remove_callback(id));
    assert!(!cyclegc::remove_callback(id), "already removed");
    cyclegc::collect();
    assert_eq!(log.borrow().len(), 2, "no longer called");
    drop(keep);
}

#[test]
fn callbacks_may_reenter_the_api() {
    let calls = Rc::new(RefCell::new(0));
    let c = calls.clone();
    let own: Rc<RefCell<Option<cyclegc::CallbackId>>> = Rc::new(RefCell::new(None));
    let o = own.clone();
    let id = cyclegc::add_callback(move |info| {
        *c.borrow_mut() += 1;
        assert_eq!(cyclegc::collect(), 0, "nested collections are refused");
        let _ = cyclegc::stats();
        if info.phase == Phase::Stop {
            // Remove ourselves from inside the call.
            assert!(cyclegc::remove_callback(o.borrow().unwrap()));
        }
    });
    *own.borrow_mut() = Some(id);
    cyclegc::collect();
    cyclegc::collect();
    assert_eq!(
        *calls.borrow(),
        2,
        "start and stop of the first collection only"
    );
}

#[test]
fn stats_count_per_generation() {
    assert_eq!(cyclegc::stats(), [cyclegc::GenerationStats::default(); 3]);
    cycle(2);
    cyclegc::collect_generation(0);
    cycle(5);
    cyclegc::collect_generation(0);
    cyclegc::collect_generation(1);
    cycle(1);
    cyclegc::collect();
    let s = cyclegc::stats();
    assert_eq!(
        (s[0].collections, s[0].collected, s[0].uncollectable),
        (2, 7, 0)
    );
    assert_eq!((s[1].collections, s[1].collected), (1, 0));
    assert_eq!((s[2].collections, s[2].collected), (1, 1));
    assert_eq!(s[2].trace_errors, 0);
}

#[test]
fn debug_switch() {
    assert!(!cyclegc::debug());
    cyclegc::set_debug(true);
    assert!(cyclegc::debug());
    cyclegc::set_debug(false);
    assert!(!cyclegc::debug());
}

/// Runs in a child process (see `debug_log_goes_to_stderr`).
fn debug_child() {
    cyclegc::set_debug(true);
    cycle(3);
    cyclegc::collect();
    cyclegc::set_debug(false);
    cycle(2);
    cyclegc::collect(); // not logged
}

#[test]
fn debug_log_goes_to_stderr() {
    if std::env::var_os("CYCLEGC_DEBUG_CHILD").is_some() {
        debug_child();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "debug_log_goes_to_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CYCLEGC_DEBUG_CHILD", "1")
        .output()
        .expect("run child");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cyclegc: collecting generation 2 (3 candidates)"),
        "{err}"
    );
    assert!(
        err.contains("cyclegc: done generation 2: 3 unreachable, 0 uncollectable"),
        "{err}"
    );
    assert_eq!(err.matches("cyclegc: done").count(), 1, "{err}");
}
