//! The wire shape of an event line: one struct per JSON object, as serde and the fast scanner
//! ([`super::scan`]) read it — strings borrowed (`S = &str`) or owned. Nothing here is checked
//! yet: [`super::parse`] turns these into the event types, or says which field is wrong.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvent<S = String> {
    pub(crate) id: S,
    pub(crate) at: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) member: Option<RawMember<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) team: Option<RawTeam<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) entitlement: Option<RawEntitlement<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cancel: Option<RawCancel<S>>,
}

impl<S> RawEvent<S> {
    /// How many of `member`, `team`, `entitlement`, `cancel` the line has (an event needs one).
    pub(crate) fn bodies(&self) -> usize {
        usize::from(self.member.is_some())
            + usize::from(self.team.is_some())
            + usize::from(self.entitlement.is_some())
            + usize::from(self.cancel.is_some())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMember<S = String> {
    pub(crate) id: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) removed: Option<bool>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam<S = String> {
    pub(crate) id: S,
    pub(crate) members: Vec<S>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCancel<S = String> {
    pub(crate) entitlement: S,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHolder<S = String> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) member: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) team: Option<S>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBlock<S = String> {
    pub(crate) days: Vec<S>,
    pub(crate) from: S,
    pub(crate) to: S,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntitlement<S = String> {
    pub(crate) id: S,
    pub(crate) kind: S,
    pub(crate) refs: Vec<S>,
    pub(crate) holder: RawHolder<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) guests: Option<Vec<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) end: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) blocks: Option<Vec<RawBlock<S>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tz: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<S>,
}
