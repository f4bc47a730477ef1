package blocks

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// RequestForm is what the request modal shows: the actions on offer and
// the values to start from.
type RequestForm struct {
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

// RequestModal renders the request modal (callback_id mfa_request).
func RequestModal(f RequestForm) slack.ModalViewRequest {
	var blocks []slack.Block
	if len(f.Problems) > 0 {
		lines := make([]string, len(f.Problems))
		for i, p := range f.Problems {
			lines[i] = "• " + Esc(p)
		}
		blocks = append(blocks, Section(":warning: *Nothing was submitted. Please fix:*\n"+strings.Join(lines, "\n")))
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
		o := slack.NewOptionBlockObject(string(a), plain(clip.Runes(a.Title(), maxOptionText)), plain(clip.Runes(a.Effect(), maxOptionText)))
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
	reason.InitialValue = clip.Runes(f.Reason, actions.MaxReasonLen)
	blocks = append(blocks, slack.NewInputBlock(BlockReason, plain("Reason"), nil, reason))

	ticket := slack.NewPlainTextInputBlockElement(plain("e.g. INC-1234"), BlockTicket)
	ticket.MaxLength = actions.MaxTicketLen
	ticket.InitialValue = clip.Runes(f.Ticket, actions.MaxTicketLen)
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

// InfoView is a modal with text and no inputs: checking, submitted, failed.
func InfoView(text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(modalTitle),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{Section(text)}},
	}
}

// CheckingView replaces the form while the directory look-ups finish.
func CheckingView() slack.ModalViewRequest {
	return InfoView(":hourglass_flowing_sand: *Checking the users in the directory…*\n" +
		"This takes a few more seconds. You can close this window: the result also comes as a direct message.")
}

// SubmittedView confirms a stored request.
func SubmittedView(r actions.Request, channel string) slack.ModalViewRequest {
	where := "the approval channel"
	if channel != "" {
		where = "<#" + channel + ">"
	}
	return InfoView(":white_check_mark: *Request `" + r.ID + "` submitted.*\n" + Title(r) +
		".\nIt waits for approval in " + where + " until " + slackDate(r.ExpiresAt) +
		". You get the outcome in a direct message.")
}

// FailedView says nothing was submitted, and why.
func FailedView(text string) slack.ModalViewRequest {
	return InfoView(":x: *Nothing was submitted.*\n" + text)
}

// DenyMeta travels in the deny modal's private_metadata.
type DenyMeta struct {
	RequestID string `json:"request_id"`
}

// DenyModal asks for an optional reason before denying r.
func DenyModal(r actions.Request) slack.ModalViewRequest {
	meta, _ := json.Marshal(DenyMeta{RequestID: r.ID}) // a plain string: cannot fail
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
			Section("Deny `" + r.ID + "`: " + Title(r) + ", requested by " + mention(r.Requester) + "?"),
			slack.NewInputBlock(BlockDenyReason, plain("Reason"), nil, in).WithOptional(true),
		}},
	}
}

// MentionPattern finds user mentions, <@U123> or <@U123|name>.
var MentionPattern = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|([^>]*))?>`)

// Readable replaces mentions in a domain message with @name, for places
// that show plain text (modal errors) or escape it.
func Readable(msg string, names map[string]string) string {
	return MentionPattern.ReplaceAllStringFunc(msg, func(m string) string {
		sub := MentionPattern.FindStringSubmatch(m)
		if n := names[sub[1]]; n != "" {
			return "@" + n
		}
		if sub[2] != "" {
			return "@" + sub[2]
		}
		return "@" + sub[1]
	})
}

// FieldErrors maps a validation error to the modal's blocks, one message
// per block: Slack shows one under each input. names turns mentions into
// readable names.
func FieldErrors(v *actions.ValidationError, names map[string]string) map[string]string {
	blockOf := map[string]string{
		actions.FieldTargets: BlockTargets,
		actions.FieldAction:  BlockAction,
		actions.FieldReason:  BlockReason,
		actions.FieldTicket:  BlockTicket,
	}
	byBlock := map[string][]string{}
	var order []string
	for _, p := range v.Problems {
		b, ok := blockOf[p.Field]
		if !ok {
			b = BlockAction
		}
		if _, known := byBlock[b]; !known {
			order = append(order, b)
		}
		byBlock[b] = append(byBlock[b], Sentence(Readable(p.Message, names)))
	}
	out := make(map[string]string, len(byBlock))
	for _, b := range order {
		out[b] = clip.Runes(strings.Join(byBlock[b], " "), MaxFieldErrors)
	}
	return out
}
