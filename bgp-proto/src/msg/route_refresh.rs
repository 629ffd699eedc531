//! ROUTE-REFRESH (RFC 2918) with the RFC 7313 message subtypes.

use crate::types::Family;
use serde::{Deserialize, Serialize};

/// RFC 7313 subtype of a ROUTE-REFRESH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RouteRefreshSubtype {
    /// 0: a normal route refresh request.
    Request,
    /// 1: Beginning of Route Refresh.
    Begin,
    /// 2: End of Route Refresh.
    End,
    /// Any other (reserved) value; RFC 7313 says to ignore the message.
    Reserved(u8),
}

impl RouteRefreshSubtype {
    /// Code point.
    pub fn code(self) -> u8 {
        match self {
            RouteRefreshSubtype::Request => 0,
            RouteRefreshSubtype::Begin => 1,
            RouteRefreshSubtype::End => 2,
            RouteRefreshSubtype::Reserved(v) => v,
        }
    }
    /// Parses a code point.
    pub fn from_code(v: u8) -> Self {
        match v {
            0 => RouteRefreshSubtype::Request,
            1 => RouteRefreshSubtype::Begin,
            2 => RouteRefreshSubtype::End,
            v => RouteRefreshSubtype::Reserved(v),
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteRefresh {
    /// Family to refresh.
    pub family: Family,
    /// RFC 7313 subtype.
    pub subtype: RouteRefreshSubtype,
}
