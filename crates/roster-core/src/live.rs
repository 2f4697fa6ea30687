//! What dialects keep in memory about the spaces they serve (apps, credentials, limits), so a
//! request is authenticated without a database read, and how it is read again when the
//! stored configuration changes (a reset, a snapshot load).

use std::sync::{Arc, Mutex, RwLock, Weak};

use async_trait::async_trait;

use crate::StoreError;

/// A value replaced whole: readers take the current one and keep it for their request.
pub struct Live<T>(RwLock<Arc<T>>);

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Self(RwLock::new(Arc::new(value)))
    }

    pub fn get(&self) -> Arc<T> {
        self.0.read().expect("live value lock").clone()
    }

    pub fn set(&self, value: T) {
        *self.0.write().expect("live value lock") = Arc::new(value);
    }
}

/// A dialect's in-memory view of its spaces, read again from the store on demand.
#[async_trait]
pub trait Reload: Send + Sync {
    async fn reload(&self) -> Result<(), StoreError>;
}

/// Everything to reload after the stored configuration changed. Holds its members weakly:
/// a dialect that is dropped is no longer reloaded.
#[derive(Clone, Default)]
pub struct Reloads(Arc<Mutex<Vec<Weak<dyn Reload>>>>);

impl Reloads {
    pub fn register(&self, view: Weak<dyn Reload>) {
        self.0.lock().expect("reloads lock").push(view);
    }

    /// Reload every live view, in the order they were registered.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let views: Vec<Arc<dyn Reload>> = {
            let mut views = self.0.lock().expect("reloads lock");
            views.retain(|view| view.strong_count() > 0);
            views.iter().filter_map(Weak::upgrade).collect()
        };
        for view in views {
            view.reload().await?;
        }
        Ok(())
    }
}
