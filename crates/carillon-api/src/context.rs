/// Who is calling and where: the (account, region) every resource of the request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The 12-digit account id of the caller.
    pub account: String,
    /// The region of the caller (from the SigV4 credential scope, else `us-east-1`).
    pub region: String,
    /// The `x-amzn-RequestId` of this request.
    pub request_id: String,
}
