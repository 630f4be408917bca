//! Who may do what in a channel (`docs/behaviour.md`, "Messaging"): the bearer's checks, the
//! checks of ARNs that name a member, and the authorization matrix as one table.
//!
//! Every operation checks, in this order: the bearer, the channel's existence (404), the matrix
//! (403), then the existence of what it addresses inside the channel (404), so that a caller the
//! matrix refuses never learns which ids exist.

use crate::arn::{self, Resource};
use crate::failure::TxResult;
use carillon_api::{ApiError, ErrorKind, RequestContext};
use carillon_store::{Actor, ChannelMembershipType, ChannelMode, ChannelPrivacy, ChannelRecord, Tx};

/// The bearer's checks that need no store, after the wire has checked it against the model
/// (present where required, length, the `ChimeArn` pattern): of the caller's account and region
/// (403). An ARN of no user or bot is the next check's 401.
pub(crate) fn check_bearer_form(ctx: &RequestContext, bearer: &str) -> Result<(), ApiError> {
    if bearer.is_empty() {
        return Err(ApiError::bad_request(
            "1 validation error detected: Value null at 'chimeBearer' failed to satisfy constraint: Member must not be null",
        ));
    }
    arn::check_owner(ctx, bearer)
}

fn unauthorized() -> ApiError {
    ApiError::new(ErrorKind::UnauthorizedClient, "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header.")
}

/// The live user or bot `arn` names, with its name now, and its AppInstance; `None` for an ARN
/// naming neither or one that does not exist.
fn live_actor(tx: &mut dyn Tx, arn: &str) -> TxResult<Option<(Actor, String)>> {
    Ok(match arn::resource(arn) {
        Some(Resource::User { app_instance_arn, .. }) => {
            tx.get_user(arn)?.map(|u| (Actor { arn: u.arn, name: Some(u.name) }, app_instance_arn))
        }
        Some(Resource::Bot { app_instance_arn, .. }) => tx.get_bot(arn)?.map(|b| (Actor { arn: b.arn, name: b.name }, app_instance_arn)),
        _ => None,
    })
}

/// The bearer as a live user or bot of `app_instance_arn` (the AppInstance of the channel or of
/// the request): 401 when it names no live user or bot, 403 when it lives in another
/// AppInstance. `app_instance_arn` is `None` when the request names none that parses (the
/// existence check that follows answers 404).
pub(crate) fn bearer(tx: &mut dyn Tx, bearer: &str, app_instance_arn: Option<&str>) -> TxResult<Actor> {
    let (actor, home) = live_actor(tx, bearer)?.ok_or_else(unauthorized)?;
    match app_instance_arn {
        Some(expected) if expected != home => {
            Err(ApiError::forbidden("The x-amz-chime-bearer belongs to another AppInstance than the resource.").into())
        }
        _ => Ok(actor),
    }
}

fn invalid_member() -> ApiError {
    ApiError::forbidden("An invalid app instance user ARN was supplied for the input parameter.")
}

/// The form check of a member parameter (`MemberArn(s)`, `ChannelModeratorArn`, `ModeratorArns`,
/// `app-instance-user-arn`): a user or bot ARN of `app_instance_arn`, else 403.
pub(crate) fn check_member_form(member_arn: &str, app_instance_arn: &str) -> Result<(), ApiError> {
    match arn::resource(member_arn) {
        Some(r @ (Resource::User { .. } | Resource::Bot { .. })) if r.app_instance_arn() == app_instance_arn => Ok(()),
        Some(Resource::User { .. } | Resource::Bot { .. }) => {
            Err(ApiError::forbidden(format!("The member {member_arn} belongs to another AppInstance than the channel.")))
        }
        _ => Err(invalid_member()),
    }
}

/// The user or bot a member parameter names: its form as [`check_member_form`], then 404 when it
/// does not exist.
pub(crate) fn member(tx: &mut dyn Tx, member_arn: &str, app_instance_arn: &str) -> TxResult<Actor> {
    check_member_form(member_arn, app_instance_arn)?;
    match live_actor(tx, member_arn)? {
        Some((actor, _)) => Ok(actor),
        None => Err(ApiError::not_found(format!("The AppInstanceUser or AppInstanceBot {member_arn} does not exist.")).into()),
    }
}

/// The channel `channel_arn` names, 404 when there is none.
pub(crate) fn channel(tx: &mut dyn Tx, channel_arn: &str) -> TxResult<ChannelRecord> {
    let missing = || ApiError::not_found(format!("The channel {channel_arn} does not exist."));
    let app_instance_arn = arn::channel_app_instance(channel_arn).ok_or_else(missing)?;
    // A channel is found only while its AppInstance is.
    if tx.get_app_instance(&app_instance_arn)?.is_none() {
        return Err(missing().into());
    }
    tx.get_channel(channel_arn)?.ok_or_else(|| missing().into())
}

/// The bearer's roles in a channel (or, for a request on an AppInstance, its admin role only),
/// computed once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Roles {
    pub admin: bool,
    pub moderator: bool,
    pub membership: Option<ChannelMembershipType>,
}

impl Roles {
    /// The roles of `who` in `channel`.
    pub(crate) fn in_channel(tx: &mut dyn Tx, channel: &ChannelRecord, who: &str) -> TxResult<Roles> {
        Ok(Roles {
            admin: tx.get_admin(&channel.app_instance_arn, who)?.is_some(),
            moderator: tx.get_moderator(&channel.arn, who)?.is_some(),
            membership: tx.get_membership(&channel.arn, who)?.map(|m| m.membership_type),
        })
    }

    /// The roles of `who` for a request on the AppInstance itself: A or N.
    pub(crate) fn in_app_instance(tx: &mut dyn Tx, app_instance_arn: &str, who: &str) -> TxResult<Roles> {
        Ok(Roles { admin: tx.get_admin(app_instance_arn, who)?.is_some(), ..Roles::default() })
    }

    /// The matrix's columns that apply: A, Mo, Me, H, N. Roles add up; N is a caller with no
    /// role in the channel but, at most, A.
    fn columns(self) -> [bool; 5] {
        let me = self.membership == Some(ChannelMembershipType::Default);
        let hidden = self.membership == Some(ChannelMembershipType::Hidden);
        [self.admin, self.moderator, me, hidden, !self.moderator && self.membership.is_none()]
    }
}

/// A row of the matrix: an operation, or one case of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    CreateChannel,
    DescribeChannel,
    /// UpdateChannel, DeleteChannel, PutChannelExpirationSettings.
    ManageChannel,
    /// ListChannels with `privacy=PUBLIC` (or none).
    ListPublicChannels,
    ListPrivateChannels,
    /// ListChannelMembershipsForAppInstanceUser; Own: the bearer's own.
    ListMembershipsOfUser,
    /// Create/BatchCreateChannelMembership of DEFAULT members.
    AddMember,
    /// Create/BatchCreateChannelMembership with `Type: HIDDEN`.
    AddHiddenMember,
    /// DescribeChannelMembership, ListChannelMemberships.
    ReadMemberships,
    /// ListChannelMemberships with `type=HIDDEN`.
    ListHiddenMemberships,
    DeleteMembership,
    /// Get/PutChannelMembershipPreferences; Own: the bearer's own.
    Preferences,
    /// Create/DeleteChannelModerator.
    ManageModerators,
    /// DescribeChannelModerator, ListChannelModerators.
    ReadModerators,
    SendMessage,
    /// GetChannelMessage, ListChannelMessages.
    ReadMessages,
    UpdateMessage,
    RedactMessage,
    DeleteMessage,
    UpdateReadMarker,
    /// Associate/DisassociateChannelFlow.
    ManageChannelFlow,
}

/// A cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Yes,
    No,
    /// Only in a PUBLIC channel.
    PublicOnly,
    /// Only what is the bearer's own: its membership, its message, its own list.
    Own,
    /// Only in an UNRESTRICTED channel.
    Unrestricted,
    /// Only the bearer itself, into a PUBLIC UNRESTRICTED channel.
    SelfIntoOpen,
}

use Cell::{No, Own, PublicOnly, SelfIntoOpen, Unrestricted, Yes};

/// The matrix: columns A (AppInstanceAdmin), Mo (moderator), Me (DEFAULT member), H (HIDDEN
/// member), N (any other user or bot of the AppInstance). Roles add up: a caller may do what any
/// of its columns allows.
#[rustfmt::skip]
const MATRIX: &[(Action, [Cell; 5])] = &[
    //                                  A             Mo            Me            H            N
    (Action::CreateChannel,          [Yes,          Yes,          Yes,          Yes,         Yes]),
    (Action::DescribeChannel,        [Yes,          Yes,          Yes,          Yes,         PublicOnly]),
    (Action::ManageChannel,          [Yes,          Yes,          No,           No,          No]),
    (Action::ListPublicChannels,     [Yes,          Yes,          Yes,          Yes,         Yes]),
    (Action::ListPrivateChannels,    [Yes,          No,           No,           No,          No]),
    (Action::ListMembershipsOfUser,  [Yes,          Own,          Own,          Own,         Own]),
    (Action::AddMember,              [Yes,          Yes,          Unrestricted, No,          SelfIntoOpen]),
    (Action::AddHiddenMember,        [Yes,          Yes,          No,           No,          No]),
    (Action::ReadMemberships,        [Yes,          Yes,          Yes,          Yes,         PublicOnly]),
    (Action::ListHiddenMemberships,  [Yes,          Yes,          No,           No,          No]),
    (Action::DeleteMembership,       [Yes,          Yes,          Own,          Own,         No]),
    (Action::Preferences,            [Own,          Own,          Own,          Own,         No]),
    (Action::ManageModerators,       [Yes,          Yes,          No,           No,          No]),
    (Action::ReadModerators,         [Yes,          Yes,          Yes,          Yes,         No]),
    // A and Mo send only as DEFAULT members too: their columns add nothing.
    (Action::SendMessage,            [No,           No,           Yes,          No,          No]),
    (Action::ReadMessages,           [Yes,          Yes,          Yes,          Yes,         PublicOnly]),
    // N: "own, only while a member", and N is no member.
    (Action::UpdateMessage,          [Own,          Own,          Own,          Own,         No]),
    (Action::RedactMessage,          [Yes,          Yes,          Own,          Own,         No]),
    (Action::DeleteMessage,          [Yes,          No,           No,           No,          No]),
    // A and Mo mark as members only.
    (Action::UpdateReadMarker,       [No,           No,           Yes,          Yes,         No]),
    (Action::ManageChannelFlow,      [Yes,          Yes,          No,           No,          No]),
];

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::CreateChannel => "create a channel",
            Action::DescribeChannel => "describe this channel: it is private and the caller has no role in it",
            Action::ManageChannel => "change this channel: that needs an AppInstanceAdmin or a moderator",
            Action::ListPublicChannels => "list public channels",
            Action::ListPrivateChannels => "list private channels: that needs an AppInstanceAdmin",
            Action::ListMembershipsOfUser => "list another user's memberships: that needs an AppInstanceAdmin",
            Action::AddMember => {
                "add these members: that needs an AppInstanceAdmin, a moderator, a member of an unrestricted channel, or the caller joining a public unrestricted channel itself"
            }
            Action::AddHiddenMember => "add hidden members: that needs an AppInstanceAdmin or a moderator",
            Action::ReadMemberships => "read this channel's memberships: it is private and the caller has no role in it",
            Action::ListHiddenMemberships => "list hidden members: that needs an AppInstanceAdmin or a moderator",
            Action::DeleteMembership => "remove this member: members remove only themselves",
            Action::Preferences => "use another member's preferences: only the member's own",
            Action::ManageModerators => "change this channel's moderators: that needs an AppInstanceAdmin or a moderator",
            Action::ReadModerators => "read this channel's moderators: that needs a role in the channel",
            Action::SendMessage => "send to this channel: that needs a DEFAULT membership",
            Action::ReadMessages => "read this channel's messages: it is private and the caller has no role in it",
            Action::UpdateMessage => "update this message: only its sender, while a member, moderator or AppInstanceAdmin",
            Action::RedactMessage => "redact this message: members redact only their own",
            Action::DeleteMessage => "delete messages: that needs an AppInstanceAdmin",
            Action::UpdateReadMarker => "update a read marker: that needs a membership",
            Action::ManageChannelFlow => "change this channel's flow: that needs an AppInstanceAdmin or a moderator",
        }
    }
}

/// What the cells look at besides the roles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// The channel, for requests on one.
    pub channel: Option<&'a ChannelRecord>,
    /// Whether what the request addresses is the bearer's own (its membership, its message, its
    /// list); `None` while not yet known: the cell then passes, and the check is made again once
    /// the item is read.
    pub own: Option<bool>,
}

impl Cell {
    fn allows(self, s: Subject<'_>) -> bool {
        let public = s.channel.is_some_and(|c| c.privacy == ChannelPrivacy::Public);
        let unrestricted = s.channel.is_some_and(|c| c.mode == ChannelMode::Unrestricted);
        match self {
            Yes => true,
            No => false,
            PublicOnly => public,
            Own => s.own.unwrap_or(true),
            Unrestricted => unrestricted,
            SelfIntoOpen => public && unrestricted && s.own.unwrap_or(true),
        }
    }
}

/// 403 unless one of the bearer's columns allows `action`.
pub(crate) fn allow(action: Action, roles: Roles, subject: Subject<'_>) -> Result<(), ApiError> {
    let cells = MATRIX.iter().find(|(a, _)| *a == action).map(|(_, cells)| *cells).unwrap_or([No; 5]);
    let allowed = roles.columns().iter().zip(cells).any(|(applies, cell)| *applies && cell.allows(subject));
    if allowed { Ok(()) } else { Err(ApiError::forbidden(format!("The caller may not {}.", action.describe()))) }
}

/// What every request on a channel starts with, in this order: its bearer, the channel, and
/// the bearer's roles in it.
pub(crate) fn enter(tx: &mut dyn Tx, bearer_arn: &str, channel_arn: &str) -> TxResult<(Actor, ChannelRecord, Roles)> {
    let app_instance_arn = arn::channel_app_instance(channel_arn);
    let actor = bearer(tx, bearer_arn, app_instance_arn.as_deref())?;
    let channel = channel(tx, channel_arn)?;
    let roles = Roles::in_channel(tx, &channel, &actor.arn)?;
    Ok((actor, channel, roles))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_row() {
        use Action::*;
        let all = [
            CreateChannel,
            DescribeChannel,
            ManageChannel,
            ListPublicChannels,
            ListPrivateChannels,
            ListMembershipsOfUser,
            AddMember,
            AddHiddenMember,
            ReadMemberships,
            ListHiddenMemberships,
            DeleteMembership,
            Preferences,
            ManageModerators,
            ReadModerators,
            SendMessage,
            ReadMessages,
            UpdateMessage,
            RedactMessage,
            DeleteMessage,
            UpdateReadMarker,
            ManageChannelFlow,
        ];
        for a in all {
            assert_eq!(MATRIX.iter().filter(|(r, _)| *r == a).count(), 1, "{a:?}");
        }
        assert_eq!(MATRIX.len(), all.len());
    }

    #[test]
    fn n_is_no_role_and_roles_add_up() {
        assert_eq!(Roles::default().columns(), [false, false, false, false, true]);
        let admin_member = Roles { admin: true, moderator: false, membership: Some(ChannelMembershipType::Default) };
        assert_eq!(admin_member.columns(), [true, false, true, false, false]);
        let s = Subject { channel: None, own: Some(false) };
        assert!(allow(Action::SendMessage, admin_member, s).is_ok());
        assert!(allow(Action::SendMessage, Roles { admin: true, ..Roles::default() }, s).is_err());
    }
}
