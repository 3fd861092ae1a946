//! Table limits and timeouts.

use serde::{Deserialize, Serialize};

/// Configuration of one per-core [`crate::ConnTable`]. Durations are in
/// milliseconds of packet time. Unknown keys are rejected; missing keys take
/// the defaults below.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnConfig {
    /// Entries per table (tracked, ignored and tombstoned keys). Default 1 000 000.
    pub max_connections: usize,
    /// A TCP connection that began with a SYN ends when the responder has sent
    /// nothing for this long after the originator's last packet. Default 5 000.
    pub tcp_establish_timeout_ms: u64,
    /// Default 300 000.
    pub tcp_inactivity_timeout_ms: u64,
    /// Default 60 000.
    pub udp_inactivity_timeout_ms: u64,
    /// How long a closing TCP connection (RST or FIN from both sides) stays
    /// in the table after its last packet. Default 2 000.
    pub tcp_close_linger_ms: u64,
    /// Timer wheel granularity. Default 100.
    pub timer_resolution_ms: u64,
    /// Out-of-order pieces buffered per direction. Default 500.
    pub max_ooo_segments: usize,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            max_connections: 1_000_000,
            tcp_establish_timeout_ms: 5_000,
            tcp_inactivity_timeout_ms: 300_000,
            udp_inactivity_timeout_ms: 60_000,
            tcp_close_linger_ms: 2_000,
            timer_resolution_ms: 100,
            max_ooo_segments: 500,
        }
    }
}

/// Largest accepted duration: 30 days (keeps nanosecond arithmetic far from overflow).
pub const MAX_DURATION_MS: u64 = 30 * 24 * 3600 * 1000;

/// Why a [`ConnConfig`] is unusable.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnConfigError {
    #[error("conntrack: {field} must be at least 1")]
    Zero { field: &'static str },
    #[error("conntrack: {field} = {value_ms} ms is shorter than timer_resolution_ms = {resolution_ms} ms")]
    BelowResolution {
        field: &'static str,
        value_ms: u64,
        resolution_ms: u64,
    },
    #[error("conntrack: {field} = {value_ms} ms exceeds the maximum of {MAX_DURATION_MS} ms")]
    TooLong { field: &'static str, value_ms: u64 },
}

impl ConnConfig {
    pub fn validate(&self) -> Result<(), ConnConfigError> {
        if self.max_connections == 0 {
            return Err(ConnConfigError::Zero {
                field: "max_connections",
            });
        }
        if self.max_ooo_segments == 0 {
            return Err(ConnConfigError::Zero {
                field: "max_ooo_segments",
            });
        }
        if self.timer_resolution_ms == 0 {
            return Err(ConnConfigError::Zero {
                field: "timer_resolution_ms",
            });
        }
        let durations = [
            ("timer_resolution_ms", self.timer_resolution_ms),
            ("tcp_establish_timeout_ms", self.tcp_establish_timeout_ms),
            ("tcp_inactivity_timeout_ms", self.tcp_inactivity_timeout_ms),
            ("udp_inactivity_timeout_ms", self.udp_inactivity_timeout_ms),
            ("tcp_close_linger_ms", self.tcp_close_linger_ms),
        ];
        for (field, value_ms) in durations {
            if value_ms > MAX_DURATION_MS {
                return Err(ConnConfigError::TooLong { field, value_ms });
            }
            if value_ms < self.timer_resolution_ms {
                return Err(ConnConfigError::BelowResolution {
                    field,
                    value_ms,
                    resolution_ms: self.timer_resolution_ms,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let c = ConnConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.tcp_establish_timeout_ms, 5_000);
        assert_eq!(c.max_ooo_segments, 500);
    }

    #[test]
    fn typed_errors() {
        let c = ConnConfig {
            max_connections: 0,
            ..ConnConfig::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConnConfigError::Zero {
                field: "max_connections"
            })
        );
        let c = ConnConfig {
            timer_resolution_ms: 0,
            ..ConnConfig::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConnConfigError::Zero {
                field: "timer_resolution_ms"
            })
        );
        let c = ConnConfig {
            tcp_close_linger_ms: 50,
            ..ConnConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConnConfigError::BelowResolution {
                field: "tcp_close_linger_ms",
                value_ms: 50,
                ..
            })
        ));
        let c = ConnConfig {
            udp_inactivity_timeout_ms: u64::MAX,
            ..ConnConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConnConfigError::TooLong { .. })));
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("udp_inactivity_timeout_ms"));
    }

    #[test]
    fn serde_defaults_and_unknown_fields() {
        let c: ConnConfig = serde_json::from_str(r#"{"max_connections": 10}"#).unwrap();
        assert_eq!(c.max_connections, 10);
        assert_eq!(c.tcp_inactivity_timeout_ms, 300_000);
        assert!(serde_json::from_str::<ConnConfig>(r#"{"max_conns": 10}"#).is_err());
    }
}
