//! Applying a changed config: new neighbors come up, removed ones are shut
//! down, unchanged sessions are not touched; a broken file is refused and
//! the running config stays.

use super::{rib_config, Core, Output};
use crate::config::{self, Config};
use crate::ctl::proto::{EventKind, ReloadResult};
use crate::peer::PeerCommand;
use rib::Rib;
use tracing::{error, info};

impl Core {
    /// Applies `config` (or reports the mistakes that make it unusable).
    pub(super) fn reload(&mut self, config: Result<Box<Config>, Vec<String>>) -> ReloadResult {
        let result = match config {
            Ok(new) => self.apply_config(*new),
            Err(errors) => refused(errors),
        };
        if !result.applied {
            error!(errors = %result.errors.join("; "), "reload refused; the running config stays");
        }
        result
    }

    fn apply_config(&mut self, new: Config) -> ReloadResult {
        if let Err(e) = Rib::new(rib_config(&new)) {
            return refused(vec![e.to_string()]);
        }
        let diff = config::diff(&self.config, &new);
        let mut result = ReloadResult::applied(&diff);
        // New policy definitions: recompile them in the RIB (exports are
        // re-evaluated at once) and ask every peer to send its routes
        // again so that import policy applies to them too.
        if diff.policies_changed {
            if let Err(e) = self.rib.set_policies(&new.policies, &new.prefix_lists) {
                return refused(vec![e.to_string()]);
            }
            let refresh: Vec<_> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.info.negotiated.route_refresh)
                .flat_map(|(peer, s)| s.info.negotiated.families.iter().map(|f| (*peer, *f)))
                .collect();
            for (peer, family) in refresh {
                self.send(peer, PeerCommand::RequestRefresh(family));
            }
        }
        for what in &diff.restart_required {
            result
                .errors
                .push(format!("{what} takes effect at restart"));
        }
        self.out
            .push_back(Output::Reconfigure(Box::new(new.clone())));
        info!(
            added = %result.added.join(","), removed = %result.removed.join(","),
            changed = %result.changed.join(","),
            "config reloaded"
        );
        self.emit(EventKind::Reload {
            applied: true,
            message: format!(
                "{} added, {} removed, {} changed",
                result.added.len(),
                result.removed.len(),
                result.changed.len()
            ),
        });
        self.config = new;
        self.originate_all();
        result
    }
}

fn refused(errors: Vec<String>) -> ReloadResult {
    ReloadResult {
        applied: false,
        errors,
        ..ReloadResult::default()
    }
}
