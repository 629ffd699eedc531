//! An unbounded multi-producer, single-consumer queue that holds no memory
//! while empty.
//!
//! Every neighbor has a command queue and every connection a queue of
//! octets to write. tokio's unbounded channel allocates blocks of 32 slots
//! up front and keeps them, about 1-3 KB per queue; with a thousand
//! neighbors that is several megabytes for queues that are empty nearly
//! all the time. This one is a `VecDeque` behind a mutex that is freed
//! whenever it empties, and a [`Notify`] to wake the consumer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

struct Shared<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending side; cheap to clone.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving side.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A new empty queue.
pub(crate) fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiver: true,
        }),
        notify: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        {
            let mut st = self.shared.lock();
            if !st.receiver {
                return Err(item);
            }
            st.items.push_back(item);
        }
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut st = self.shared.lock();
            st.senders -= 1;
            st.senders == 0
        };
        if last {
            // The receiver sees the end once the queue is drained.
            self.shared.notify.notify_one();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item, or `None` once every sender is gone and the queue is
    /// empty. Cancel-safe: an item is taken only when it is returned.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        loop {
            // A notification sent before this wait is kept as a permit, so
            // checking first and waiting after loses nothing.
            match self.take() {
                Taken::Item(item) => return Some(item),
                Taken::Closed => return None,
                Taken::Empty => self.shared.notify.notified().await,
            }
        }
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        match self.take() {
            Taken::Item(item) => Some(item),
            Taken::Closed | Taken::Empty => None,
        }
    }

    /// Whether nothing is queued.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }

    fn take(&mut self) -> Taken<T> {
        let mut st = self.shared.lock();
        match st.items.pop_front() {
            Some(item) => {
                if st.items.is_empty() {
                    // Give the buffer back: an idle queue holds nothing.
                    st.items = VecDeque::new();
                }
                Taken::Item(item)
            }
            None if st.senders == 0 => Taken::Closed,
            None => Taken::Empty,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut st = self.shared.lock();
            st.receiver = false;
            std::mem::take(&mut st.items)
        };
        // Dropped outside the lock (an item may be a connection).
        drop(items);
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mailbox::Sender")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mailbox::Receiver")
    }
}

enum Taken<T> {
    Item(T),
    Empty,
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn delivers_in_order_and_ends_when_senders_are_gone() {
        let (tx, mut rx) = mailbox();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        assert!(!rx.is_empty());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert!(rx.is_empty());
        assert_eq!(rx.try_recv(), None);
        drop(tx);
        tx2.send(3).unwrap();
        drop(tx2);
        // What was queued is still delivered, then the end.
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send_and_on_close() {
        let (tx, mut rx) = mailbox::<u32>();
        let waiter = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(7).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(tx);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, (Some(7), None));
    }

    #[tokio::test]
    async fn sending_to_a_dropped_receiver_gives_the_item_back() {
        let (tx, rx) = mailbox();
        drop(rx);
        assert_eq!(tx.send("x"), Err("x"));
    }

    #[tokio::test]
    async fn an_emptied_queue_frees_its_buffer() {
        let (tx, mut rx) = mailbox();
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.lock().items.capacity(), 0);
    }
}
