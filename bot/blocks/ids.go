// Package blocks renders mfadesk's Slack messages and modals as Block Kit.
// It is pure: a request (and whatever else is shown) in, blocks out; nothing
// here calls Slack or the service, and golden files pin the output.
package blocks

// Identifiers Slack sends back to the bot. The request modal's callback and
// block IDs and the buttons' action IDs are stable names listed in
// docs/reference.md; the rest are the bot's own.
const (
	// CallbackRequest is the request modal's callback_id.
	CallbackRequest = "mfa_request"
	// CallbackDeny is the callback_id of the small modal asking why a
	// request is denied.
	CallbackDeny = "mfa_deny"

	// Input blocks of the request modal; each block_id equals its
	// element's action_id.
	BlockTargets = "targets"
	BlockAction  = "action"
	BlockReason  = "reason"
	BlockTicket  = "ticket"
	// BlockDenyReason is the deny modal's optional reason input.
	BlockDenyReason = "deny_reason"

	// Buttons: value is always the request ID and nothing else.
	ActionApprove      = "approve"
	ActionDeny         = "deny"
	ActionManualDone   = "manual_done"
	ActionManualFailed = "manual_failed"
	// ActionNotMe is "This wasn't me" on a notice to the affected user.
	ActionNotMe = "not_me"

	// blockDecision and blockManual hold the buttons.
	blockDecision = "decision"
	blockManual   = "manual"
	blockNotMe    = "not_me"
)
