package bot

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// requestForm is what the request modal shows: the actions on offer and
// the values to start from.
type requestForm struct {
	Actions    []actions.Action // the requester's requestable actions; never empty
	Action     actions.Action   // preselected when among Actions
	Targets    []string         // Slack user IDs
	Reason     string
	Ticket     string
	MaxTargets int
	Channel    string // the approval channel, named in the hint
	// Problems are shown above the inputs when the form comes back after a
	// check that finished too late for Slack's inline errors.
	Problems []string
}

const modalTitle = "MFA request"

// requestModal renders the request modal (callback_id mfa_request).
func requestModal(f requestForm) slack.ModalViewRequest {
	var blocks []slack.Block
	if len(f.Problems) > 0 {
		lines := make([]string, len(f.Problems))
		for i, p := range f.Problems {
			lines[i] = "• " + esc(p)
		}
		blocks = append(blocks, section(":warning: *Nothing was submitted. Please fix:*\n"+strings.Join(lines, "\n")))
	}

	people := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeUser, plain("Choose people"), BlockTargets)
	if n := len(f.Targets); n > 0 {
		people.InitialUsers = append([]string(nil), f.Targets[:min(n, max(f.MaxTargets, 1))]...)
	}
	if f.MaxTargets > 0 {
		n := f.MaxTargets
		people.MaxSelectedItems = &n
	}
	blocks = append(blocks, slack.NewInputBlock(BlockTargets, plain("Users"),
		plain("Who the action is for. Never yourself."), people))

	opts := make([]*slack.OptionBlockObject, 0, len(f.Actions))
	var initial *slack.OptionBlockObject
	for _, a := range f.Actions {
		o := slack.NewOptionBlockObject(string(a), plain(clip(a.Title(), maxOptionText)), plain(clip(a.Effect(), maxOptionText)))
		opts = append(opts, o)
		if a == f.Action {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose an action"), BlockAction, opts...)
	sel.InitialOption = initial
	blocks = append(blocks, slack.NewInputBlock(BlockAction, plain("Action"), nil, sel))

	reason := slack.NewPlainTextInputBlockElement(plain("Why, e.g. lost phone, verified by a call back"), BlockReason)
	reason.Multiline = true
	reason.MaxLength = actions.MaxReasonLen
	reason.InitialValue = clip(f.Reason, actions.MaxReasonLen)
	blocks = append(blocks, slack.NewInputBlock(BlockReason, plain("Reason"), nil, reason))

	ticket := slack.NewPlainTextInputBlockElement(plain("e.g. INC-1234"), BlockTicket)
	ticket.MaxLength = actions.MaxTicketLen
	ticket.InitialValue = clip(f.Ticket, actions.MaxTicketLen)
	blocks = append(blocks, slack.NewInputBlock(BlockTicket, plain("Ticket"), nil, ticket).WithOptional(true))

	hint := "A second person approves every request"
	if f.Channel != "" {
		hint += " in <#" + f.Channel + ">"
	}
	blocks = append(blocks, contextBlock(hint+". You get the result in a direct message."))

	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: CallbackRequest,
		Title:      plain(modalTitle),
		Submit:     plain("Request approval"),
		Close:      plain("Cancel"),
		Blocks:     slack.Blocks{BlockSet: capBlocks(blocks, maxModalBlocks)},
	}
}

// infoView is a modal with text and no inputs: checking, submitted, failed.
func infoView(text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(modalTitle),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// checkingView replaces the form while the directory look-ups finish.
func checkingView() slack.ModalViewRequest {
	return infoView(":hourglass_flowing_sand: *Checking the users in the directory…*\n" +
		"This takes a few more seconds. You can close this window: the result also comes as a direct message.")
}

// submittedView confirms a stored request.
func submittedView(r actions.Request, channel string) slack.ModalViewRequest {
	where := "the approval channel"
	if channel != "" {
		where = "<#" + channel + ">"
	}
	return infoView(":white_check_mark: *Request `" + r.ID + "` submitted.*\n" + title(r) +
		".\nIt waits for approval in " + where + " until " + slackDate(r.ExpiresAt) +
		". You get the outcome in a direct message.")
}

// failedView says nothing was submitted, and why.
func failedView(text string) slack.ModalViewRequest {
	return infoView(":x: *Nothing was submitted.*\n" + text)
}

// denyMeta travels in the deny modal's private_metadata.
type denyMeta struct {
	RequestID string `json:"request_id"`
	Channel   string `json:"channel,omitempty"`
}

// denyModal asks for an optional reason before denying r.
func denyModal(r actions.Request, channel string) slack.ModalViewRequest {
	meta, _ := json.Marshal(denyMeta{RequestID: r.ID, Channel: channel}) // plain strings: cannot fail
	in := slack.NewPlainTextInputBlockElement(plain("Optional: the requester sees it"), BlockDenyReason)
	in.Multiline = true
	in.MaxLength = actions.MaxReasonLen
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackDeny,
		Title:           plain("Deny request"),
		Submit:          plain("Deny"),
		Close:           plain("Back"),
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section("Deny `" + r.ID + "`: " + title(r) + ", requested by " + mention(r.Requester) + "?"),
			slack.NewInputBlock(BlockDenyReason, plain("Reason"), nil, in).WithOptional(true),
		}},
	}
}

// mentionPattern finds user mentions, <@U123> or <@U123|name>.
var mentionPattern = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|([^>]*))?>`)

// readable replaces mentions in a domain message with @name, for places
// that show plain text (modal errors) or escape it.
func readable(msg string, names map[string]string) string {
	return mentionPattern.ReplaceAllStringFunc(msg, func(m string) string {
		sub := mentionPattern.FindStringSubmatch(m)
		if n := names[sub[1]]; n != "" {
			return "@" + n
		}
		if sub[2] != "" {
			return "@" + sub[2]
		}
		return "@" + sub[1]
	})
}

// fieldErrors maps a validation error to the modal's blocks, one message
// per block: Slack shows one under each input. names turns mentions into
// readable names.
func fieldErrors(v *actions.ValidationError, names map[string]string) map[string]string {
	blockOf := map[string]string{
		actions.FieldTargets: BlockTargets,
		actions.FieldAction:  BlockAction,
		actions.FieldReason:  BlockReason,
		actions.FieldTicket:  BlockTicket,
	}
	msgs := map[string][]string{}
	var order []string
	for _, p := range v.Problems {
		b, ok := blockOf[p.Field]
		if !ok {
			b = BlockAction
		}
		if _, seen := msgs[b]; !seen {
			order = append(order, b)
		}
		msgs[b] = append(msgs[b], sentence(readable(p.Message, names)))
	}
	out := make(map[string]string, len(msgs))
	for _, b := range order {
		out[b] = clip(strings.Join(msgs[b], " "), maxFieldErrors)
	}
	return out
}
