package fakeslack

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit checks: the limits Slack enforces on what the bot sends. A
// message that breaks one is refused with invalid_blocks, a view with
// invalid_arguments, as Slack does.

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type option struct {
	Text  text   `json:"text"`
	Value string `json:"value"`
}

type element struct {
	Type          string  `json:"type"`
	ActionID      string  `json:"action_id"`
	Text          *text   `json:"text"`
	Value         string  `json:"value"`
	Options       []any   `json:"options"`
	InitialOption *option `json:"initial_option"`
}

type block struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *text             `json:"text"`
	Fields   []text            `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
	Label    *text             `json:"label"`
	Element  *json.RawMessage  `json:"element"`
}

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

// checkBlocks returns "" when raw is a valid list of at most max blocks, or
// Slack's error code.
func checkBlocks(raw json.RawMessage, max int, modal bool) string {
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil || len(blocks) > max {
		return "invalid_blocks"
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if b.BlockID != "" {
			if ids[b.BlockID] || tooLong(b.BlockID, 255) {
				return "invalid_blocks"
			}
			ids[b.BlockID] = true
		}
		if !checkBlock(b, modal) {
			return "invalid_blocks"
		}
	}
	return ""
}

func checkBlock(b block, modal bool) bool {
	switch b.Type {
	case "divider":
		return true
	case "header":
		return b.Text != nil && b.Text.Type == "plain_text" && b.Text.Text != "" && !tooLong(b.Text.Text, 150)
	case "section":
		if b.Text == nil && len(b.Fields) == 0 || len(b.Fields) > 10 {
			return false
		}
		if b.Text != nil && (b.Text.Text == "" || tooLong(b.Text.Text, 3000)) {
			return false
		}
		for _, f := range b.Fields {
			if f.Text == "" || tooLong(f.Text, 2000) {
				return false
			}
		}
		return true
	case "context":
		if len(b.Elements) == 0 || len(b.Elements) > 10 {
			return false
		}
		for _, raw := range b.Elements {
			var t text
			if json.Unmarshal(raw, &t) != nil || (t.Type == "mrkdwn" || t.Type == "plain_text") && (t.Text == "" || tooLong(t.Text, 2000)) {
				return false
			}
		}
		return true
	case "actions":
		if len(b.Elements) == 0 || len(b.Elements) > 25 {
			return false
		}
		for _, raw := range b.Elements {
			var e element
			if json.Unmarshal(raw, &e) != nil || !checkElement(e) {
				return false
			}
		}
		return true
	case "input":
		if !modal || b.Label == nil || b.Label.Text == "" || tooLong(b.Label.Text, 2000) || b.Element == nil {
			return false
		}
		var e element
		return json.Unmarshal(*b.Element, &e) == nil && checkElement(e)
	}
	return false
}

func checkElement(e element) bool {
	if e.ActionID != "" && tooLong(e.ActionID, 255) {
		return false
	}
	switch e.Type {
	case "button":
		return e.Text != nil && e.Text.Text != "" && !tooLong(e.Text.Text, 75) && !tooLong(e.Value, 2000)
	case "static_select":
		if len(e.Options) == 0 || len(e.Options) > 100 {
			return false
		}
		found := e.InitialOption == nil
		for _, raw := range e.Options {
			b, _ := json.Marshal(raw)
			var o option
			if json.Unmarshal(b, &o) != nil || o.Text.Text == "" || tooLong(o.Text.Text, 75) || tooLong(o.Value, 150) {
				return false
			}
			if e.InitialOption != nil && o.Value == e.InitialOption.Value {
				found = true
			}
		}
		return found
	case "multi_users_select", "users_select", "plain_text_input", "datepicker", "checkboxes",
		"radio_buttons", "conversations_select", "multi_conversations_select", "channels_select":
		return true
	}
	return false
}

// checkView returns "" when v is a valid modal, or Slack's error code.
func checkView(v map[string]json.RawMessage) string {
	var kind, meta string
	_ = json.Unmarshal(v["type"], &kind)
	_ = json.Unmarshal(v["private_metadata"], &meta)
	if kind != "modal" || tooLong(meta, 3000) {
		return "invalid_arguments"
	}
	for _, k := range []string{"title", "submit", "close"} {
		var t text
		if raw, ok := v[k]; ok {
			if json.Unmarshal(raw, &t) != nil || t.Type != "plain_text" || t.Text == "" || tooLong(t.Text, 24) {
				return "invalid_arguments"
			}
		} else if k == "title" {
			return "invalid_arguments"
		}
	}
	if checkBlocks(v["blocks"], 100, true) != "" {
		return "invalid_arguments"
	}
	var blocks []block
	_ = json.Unmarshal(v["blocks"], &blocks)
	for _, b := range blocks {
		if _, ok := v["submit"]; b.Type == "input" && !ok {
			return "invalid_arguments" // input blocks need a submit button
		}
	}
	return ""
}

// CheckMessage returns nil when blocks (a JSON array) is what Slack accepts
// in a message, else an error with Slack's code.
func CheckMessage(blocks json.RawMessage) error {
	if code := checkBlocks(blocks, 50, false); code != "" {
		return fmt.Errorf("slack would refuse the message: %s", code)
	}
	return nil
}

// CheckView returns nil when view (a JSON object) is a modal Slack accepts,
// else an error with Slack's code.
func CheckView(view json.RawMessage) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(view, &v); err != nil {
		return err
	}
	if code := checkView(v); code != "" {
		return fmt.Errorf("slack would refuse the view: %s", code)
	}
	return nil
}
