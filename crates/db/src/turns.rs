//! SQLite's one writer connection, handed to writers in the order they
//! asked for it.
//!
//! A plain mutex lets the thread that just let go take it straight back, so
//! a job that writes in a loop (the daily sweeps write 570 transactions in a
//! row at 100,000 workers) kept the writer from the audit writer for the
//! whole loop, and every audited read, whose answer waits for its event to
//! be committed, waited with it: for about ten seconds no read answered.
//! Here each writer takes a ticket and is served in ticket order, so a loop's
//! next transaction queues behind whoever asked meanwhile.

use std::sync::{Condvar, Mutex, MutexGuard};

/// The shared writer (`T` is the connection) and its queue of writers.
pub(crate) struct Turns<T> {
    state: Mutex<Queue<T>>,
    served: Condvar,
}

struct Queue<T> {
    /// The ticket the next writer to ask gets.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
    /// The connection, kept here between turns (`None` until one is opened,
    /// and after a write that must start over on a fresh one).
    held: Option<T>,
}

/// One writer's turn: it holds the connection until it is dropped.
pub(crate) struct Turn<'a, T> {
    turns: &'a Turns<T>,
    /// The connection during this turn; left `None` to have the next turn
    /// open a fresh one.
    pub(crate) conn: Option<T>,
}

impl<T> Turns<T> {
    /// An empty queue with no connection yet.
    pub(crate) fn new() -> Turns<T> {
        Turns {
            state: Mutex::new(Queue {
                next: 0,
                serving: 0,
                held: None,
            }),
            served: Condvar::new(),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this caller's turn, after every writer that asked before it.
    pub(crate) fn wait(&self) -> Turn<'_, T> {
        let mut q = self.queue();
        let ticket = q.next;
        q.next += 1;
        while q.serving != ticket {
            q = self.served.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        let conn = q.held.take();
        Turn { turns: self, conn }
    }
}

impl<T> Drop for Turn<'_, T> {
    fn drop(&mut self) {
        // A write that panicked may have left its transaction open: the next
        // turn starts on a fresh connection rather than inside it.
        let conn = if std::thread::panicking() {
            None
        } else {
            self.conn.take()
        };
        let mut q = self.turns.queue();
        q.held = conn;
        q.serving += 1;
        drop(q);
        self.turns.served.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_writer_in_a_loop_lets_the_one_that_asked_meanwhile_go_next() {
        let turns = Arc::new(Turns::<u32>::new());
        let done = Arc::new(AtomicUsize::new(0));
        let looping = {
            let (turns, done) = (turns.clone(), done.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let mut t = turns.wait();
                    *t.conn.get_or_insert(0) += 1;
                    std::thread::sleep(Duration::from_millis(1));
                    drop(t);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while done.load(Ordering::SeqCst) < 5 {
            std::thread::yield_now();
        }
        let before = done.load(Ordering::SeqCst);
        let t = turns.wait();
        let after = done.load(Ordering::SeqCst);
        // Served after the turn that was running when it asked (and the one
        // that may have started just before), not after the whole loop.
        assert!(after <= before + 2, "waited for {} turns", after - before);
        assert!(t.conn.is_some(), "the connection is handed on");
        drop(t);
        looping.join().expect("loop");
        let last = turns.wait();
        assert_eq!(last.conn, Some(200), "one connection served every turn");
    }

    #[test]
    fn a_turn_that_panicked_leaves_no_connection_behind() {
        let turns = Arc::new(Turns::<u32>::new());
        {
            let mut t = turns.wait();
            t.conn = Some(7);
        }
        let t2 = turns.clone();
        let failed = std::thread::spawn(move || {
            let _t = t2.wait();
            panic!("a write failed half-way");
        })
        .join();
        assert!(failed.is_err());
        assert_eq!(turns.wait().conn, None);
    }
}
