//! The operations the wire serves: those of Chime SDK Identity and of Chime SDK Messaging, on one
//! listener (`docs/behaviour.md`, "Messaging").

use crate::{identity, messaging};

/// One operation of one of the served services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServedOperation {
    Identity(identity::Operation),
    Messaging(messaging::Operation),
}

impl ServedOperation {
    /// The operation's name as its model spells it (`TagResource` is the same in both).
    pub fn name(self) -> &'static str {
        match self {
            ServedOperation::Identity(op) => op.name(),
            ServedOperation::Messaging(op) => op.name(),
        }
    }

    /// The HTTP method of its route.
    pub fn method(self) -> &'static str {
        match self {
            ServedOperation::Identity(op) => op.method(),
            ServedOperation::Messaging(op) => op.method(),
        }
    }

    /// The status of a successful answer.
    pub fn success_status(self) -> u16 {
        match self {
            ServedOperation::Identity(op) => op.success_status(),
            ServedOperation::Messaging(op) => op.success_status(),
        }
    }

    /// Every served operation: Identity's, then Messaging's, each in its model's order.
    pub fn all() -> impl Iterator<Item = ServedOperation> {
        identity::Operation::ALL
            .iter()
            .map(|&op| ServedOperation::Identity(op))
            .chain(messaging::Operation::ALL.iter().map(|&op| ServedOperation::Messaging(op)))
    }
}

impl From<identity::Operation> for ServedOperation {
    fn from(op: identity::Operation) -> Self {
        ServedOperation::Identity(op)
    }
}

impl From<messaging::Operation> for ServedOperation {
    fn from(op: messaging::Operation) -> Self {
        ServedOperation::Messaging(op)
    }
}

/// Whether a `/tags` call on `arn` is Messaging's: the ARN names a channel or a channel flow
/// (`.../channel/...`, `.../channel-flow/...`). Everything else is Identity's.
pub fn is_messaging_resource(arn: &str) -> bool {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    // `app-instance/{id}/channel/{id}`: the kind is the third part.
    matches!(resource.split('/').nth(2), Some("channel" | "channel-flow"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_resource_type_of_the_arn() {
        let instance = "arn:aws:chime:us-east-1:111122223333:app-instance/a";
        assert!(!is_messaging_resource(instance));
        assert!(!is_messaging_resource(&format!("{instance}/user/u")));
        assert!(!is_messaging_resource(&format!("{instance}/bot/b")));
        assert!(is_messaging_resource(&format!("{instance}/channel/c")));
        assert!(is_messaging_resource(&format!("{instance}/channel-flow/f")));
        // A user whose id is `channel` is still a user.
        assert!(!is_messaging_resource(&format!("{instance}/user/channel")));
        assert!(!is_messaging_resource("not an arn"));
    }

    #[test]
    fn names_and_statuses_come_from_each_model() {
        assert_eq!(ServedOperation::all().count(), identity::Operation::ALL.len() + messaging::Operation::ALL.len());
        assert_eq!(ServedOperation::from(messaging::Operation::SendChannelMessage).success_status(), 201);
        assert_eq!(ServedOperation::from(identity::Operation::TagResource).name(), "TagResource");
    }
}
