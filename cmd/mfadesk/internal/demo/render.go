package demo

import (
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
)

// The page's Block Kit renderer: the subset of Slack's Block Kit that mfadesk
// sends, drawn as Slack draws it. Anything else is drawn as a visible
// "unsupported block" box, never dropped, so the demo cannot silently fall
// behind what the bot sends (a test renders every golden file of bot/).

// renderer draws Block Kit as HTML. Unsupported lists what it could not
// draw.
type renderer struct {
	// name returns the display name of a Slack user ID.
	name        func(id string) string
	unsupported []string
}

func newRenderer() *renderer {
	return &renderer{name: func(id string) string {
		if p, ok := PersonByID(id); ok {
			return p.Name
		}
		return id
	}}
}

type textObj struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji"`
}

type optionObj struct {
	Text  textObj `json:"text"`
	Value string  `json:"value"`
}

type elementObj struct {
	Type         string      `json:"type"`
	ActionID     string      `json:"action_id"`
	Text         *textObj    `json:"text"`
	Value        string      `json:"value"`
	URL          string      `json:"url"`
	Style        string      `json:"style"`
	Confirm      *confirmObj `json:"confirm"`
	ImageURL     string      `json:"image_url"`
	AltText      string      `json:"alt_text"`
	Placeholder  *textObj    `json:"placeholder"`
	Options      []optionObj `json:"options"`
	Initial      *optionObj  `json:"initial_option"`
	InitialUsers []string    `json:"initial_users"`
	InitialValue string      `json:"initial_value"`
	Multiline    bool        `json:"multiline"`
	MaxLength    int         `json:"max_length"`
}

type confirmObj struct {
	Title   *textObj `json:"title"`
	Text    *textObj `json:"text"`
	Confirm *textObj `json:"confirm"`
	Deny    *textObj `json:"deny"`
	Style   string   `json:"style"`
}

type blockObj struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Accessory json.RawMessage   `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
	Label     *textObj          `json:"label"`
	Hint      *textObj          `json:"hint"`
	Optional  bool              `json:"optional"`
	Element   json.RawMessage   `json:"element"`
	ImageURL  string            `json:"image_url"`
	AltText   string            `json:"alt_text"`
	Title     *textObj          `json:"title"`
}

// text draws a text object.
func (r *renderer) text(t *textObj) string {
	if t == nil {
		return ""
	}
	if t.Type == "mrkdwn" {
		return r.mrkdwn(t.Text)
	}
	return strings.ReplaceAll(html.EscapeString(t.Text), "\n", "<br>")
}

func (r *renderer) unsupportedBox(kind, what string, raw json.RawMessage) string {
	r.unsupported = append(r.unsupported, kind+" "+what)
	return `<div class="unsupported" title="` + html.EscapeString(string(raw)) + `">unsupported ` + kind + `: <code>` +
		html.EscapeString(what) + `</code></div>`
}

// Blocks draws a message's blocks; in a modal, input blocks are drawn as
// form fields with the values and errors given (by block ID).
func (r *renderer) Blocks(raw json.RawMessage, form *formState) string {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return r.unsupportedBox("block list", "not a JSON array", raw)
	}
	var b strings.Builder
	for _, one := range blocks {
		b.WriteString(r.block(one, form))
	}
	return b.String()
}

func (r *renderer) block(raw json.RawMessage, form *formState) string {
	var bl blockObj
	if err := json.Unmarshal(raw, &bl); err != nil {
		return r.unsupportedBox("block", "unreadable", raw)
	}
	switch bl.Type {
	case "header":
		return `<div class="bk-header">` + r.text(bl.Text) + `</div>`
	case "divider":
		return `<hr class="bk-divider">`
	case "section":
		var b strings.Builder
		b.WriteString(`<div class="bk-section"><div class="bk-section-main">`)
		if bl.Text != nil {
			b.WriteString(`<div class="bk-text">` + r.text(bl.Text) + `</div>`)
		}
		if len(bl.Fields) > 0 {
			b.WriteString(`<div class="bk-fields">`)
			for i := range bl.Fields {
				b.WriteString(`<div class="bk-field">` + r.text(&bl.Fields[i]) + `</div>`)
			}
			b.WriteString(`</div>`)
		}
		b.WriteString(`</div>`)
		if len(bl.Accessory) > 0 {
			b.WriteString(`<div class="bk-accessory">` + r.element(bl.Accessory, bl.BlockID) + `</div>`)
		}
		b.WriteString(`</div>`)
		return b.String()
	case "context":
		var b strings.Builder
		b.WriteString(`<div class="bk-context">`)
		for _, e := range bl.Elements {
			var el elementObj
			_ = json.Unmarshal(e, &el)
			switch el.Type {
			case "mrkdwn", "plain_text":
				var t textObj
				_ = json.Unmarshal(e, &t)
				b.WriteString(`<span>` + r.text(&t) + `</span>`)
			case "image":
				b.WriteString(`<img src="` + html.EscapeString(el.ImageURL) + `" alt="` + html.EscapeString(el.AltText) + `">`)
			default:
				b.WriteString(r.unsupportedBox("context element", el.Type, e))
			}
		}
		b.WriteString(`</div>`)
		return b.String()
	case "actions":
		var b strings.Builder
		b.WriteString(`<div class="bk-actions">`)
		for _, e := range bl.Elements {
			b.WriteString(r.element(e, bl.BlockID))
		}
		b.WriteString(`</div>`)
		return b.String()
	case "image":
		t := ""
		if bl.Title != nil {
			t = `<div class="bk-image-title">` + r.text(bl.Title) + `</div>`
		}
		return `<div class="bk-image">` + t + `<img src="` + html.EscapeString(bl.ImageURL) + `" alt="` + html.EscapeString(bl.AltText) + `"></div>`
	case "input":
		if form == nil {
			return r.unsupportedBox("block", "input outside a modal", raw)
		}
		return r.input(bl, form)
	}
	return r.unsupportedBox("block", bl.Type, raw)
}

// element draws an interactive element of an actions block or a section's
// accessory.
func (r *renderer) element(raw json.RawMessage, blockID string) string {
	var el elementObj
	if err := json.Unmarshal(raw, &el); err != nil {
		return r.unsupportedBox("element", "unreadable", raw)
	}
	switch el.Type {
	case "button":
		cls := "btn"
		if el.Style == "primary" || el.Style == "danger" {
			cls += " " + el.Style
		}
		attrs := fmt.Sprintf(` data-action-id="%s" data-value="%s" data-block-id="%s"`,
			html.EscapeString(el.ActionID), html.EscapeString(el.Value), html.EscapeString(blockID))
		if el.URL != "" {
			attrs += ` data-url="` + html.EscapeString(el.URL) + `"`
			cls += " link"
		}
		if c := el.Confirm; c != nil {
			// Slack asks first, in a dialog of its own: the page's #confirm.
			ok, no := "Yes", "Cancel"
			if c.Confirm != nil {
				ok = c.Confirm.Text
			}
			if c.Deny != nil {
				no = c.Deny.Text
			}
			attrs += ` data-confirm-title="` + html.EscapeString(plain(c.Title)) + `" data-confirm-text="` +
				html.EscapeString(r.text(c.Text)) + `" data-confirm-ok="` + html.EscapeString(ok) +
				`" data-confirm-no="` + html.EscapeString(no) + `" data-confirm-style="` + html.EscapeString(c.Style) + `"`
		}
		return `<button class="` + cls + `"` + attrs + `>` + r.text(el.Text) + `</button>`
	case "image":
		return `<img class="bk-thumb" src="` + html.EscapeString(el.ImageURL) + `" alt="` + html.EscapeString(el.AltText) + `">`
	}
	return r.unsupportedBox("element", el.Type, raw)
}

func plain(t *textObj) string {
	if t == nil {
		return ""
	}
	return unescape(t.Text)
}

// formState is what the person has entered in a modal and what the app
// said was wrong with it.
type formState struct {
	// Values are the last submitted values, by block ID then action ID,
	// in Slack's view state shape.
	Values map[string]map[string]stateValue `json:"values"`
	// Errors are response_action "errors" messages, by block ID.
	Errors map[string]string `json:"errors"`
}

// stateValue is one input's value in a view submission's state.
type stateValue struct {
	Type           string     `json:"type"`
	Value          *string    `json:"value,omitempty"`
	SelectedUsers  []string   `json:"selected_users,omitempty"`
	SelectedOption *optionObj `json:"selected_option,omitempty"`
}

// input draws an input block as a form field.
func (r *renderer) input(bl blockObj, form *formState) string {
	var el elementObj
	if err := json.Unmarshal(bl.Element, &el); err != nil {
		return r.unsupportedBox("input element", "unreadable", bl.Element)
	}
	prev, hasPrev := form.Values[bl.BlockID][el.ActionID]
	id := html.EscapeString(bl.BlockID + "." + el.ActionID)
	attrs := fmt.Sprintf(`data-input data-block-id="%s" data-action-id="%s" data-type="%s"`,
		html.EscapeString(bl.BlockID), html.EscapeString(el.ActionID), html.EscapeString(el.Type))
	var field string
	switch el.Type {
	case "plain_text_input":
		v := el.InitialValue
		if hasPrev && prev.Value != nil {
			v = *prev.Value
		}
		ph := ""
		if el.Placeholder != nil {
			ph = ` placeholder="` + html.EscapeString(el.Placeholder.Text) + `"`
		}
		if el.MaxLength > 0 {
			ph += fmt.Sprintf(` maxlength="%d"`, el.MaxLength)
		}
		if el.Multiline {
			field = `<textarea id="` + id + `" ` + attrs + ph + `>` + html.EscapeString(v) + `</textarea>`
		} else {
			field = `<input type="text" id="` + id + `" ` + attrs + ph + ` value="` + html.EscapeString(v) + `">`
		}
	case "static_select":
		sel := ""
		if el.Initial != nil {
			sel = el.Initial.Value
		}
		if hasPrev {
			sel = ""
			if prev.SelectedOption != nil {
				sel = prev.SelectedOption.Value
			}
		}
		ph := "Choose…"
		if el.Placeholder != nil {
			ph = el.Placeholder.Text
		}
		var b strings.Builder
		b.WriteString(`<select id="` + id + `" ` + attrs + `><option value="">` + html.EscapeString(ph) + `</option>`)
		for _, o := range el.Options {
			s := ""
			if o.Value == sel {
				s = " selected"
			}
			b.WriteString(`<option value="` + html.EscapeString(o.Value) + `"` + s + `>` + html.EscapeString(o.Text.Text) + `</option>`)
		}
		b.WriteString(`</select>`)
		field = b.String()
	case "multi_users_select", "users_select":
		sel := el.InitialUsers
		if hasPrev {
			sel = prev.SelectedUsers
		}
		kind := "checkbox"
		if el.Type == "users_select" {
			kind = "radio"
		}
		var b strings.Builder
		b.WriteString(`<div class="users" id="` + id + `" ` + attrs + `>`)
		for _, p := range People {
			c := ""
			if slices.Contains(sel, p.SlackID) {
				c = " checked"
			}
			b.WriteString(`<label class="user-chip"><input type="` + kind + `" name="` + id + `" value="` + p.SlackID + `"` + c + `> ` +
				html.EscapeString(p.Name) + `</label>`)
		}
		b.WriteString(`</div>`)
		field = b.String()
	default:
		return r.unsupportedBox("input element", el.Type, bl.Element)
	}
	var b strings.Builder
	b.WriteString(`<div class="bk-input`)
	if form.Errors[bl.BlockID] != "" {
		b.WriteString(` has-error`)
	}
	b.WriteString(`"><label for="` + id + `">` + r.text(bl.Label))
	if bl.Optional {
		b.WriteString(` <span class="optional">(optional)</span>`)
	}
	b.WriteString(`</label>` + field)
	if bl.Hint != nil {
		b.WriteString(`<div class="hint">` + r.text(bl.Hint) + `</div>`)
	}
	if e := form.Errors[bl.BlockID]; e != "" {
		b.WriteString(`<div class="error">` + html.EscapeString(e) + `</div>`)
	}
	b.WriteString(`</div>`)
	return b.String()
}

// View draws a modal.
func (r *renderer) View(raw json.RawMessage, form *formState) string {
	var v struct {
		Type   string          `json:"type"`
		Title  *textObj        `json:"title"`
		Submit *textObj        `json:"submit"`
		Close  *textObj        `json:"close"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Type != "modal" {
		return r.unsupportedBox("view", v.Type, raw)
	}
	if form == nil {
		form = &formState{}
	}
	var b strings.Builder
	b.WriteString(`<div class="modal-head"><span class="modal-title">` + r.text(v.Title) + `</span>` +
		`<button class="modal-x" data-modal-close title="Close">×</button></div>`)
	b.WriteString(`<div class="modal-body">` + r.Blocks(v.Blocks, form) + `</div><div class="modal-foot">`)
	closeText := "Cancel"
	if v.Close != nil {
		closeText = v.Close.Text
	}
	b.WriteString(`<button class="btn" data-modal-close>` + html.EscapeString(closeText) + `</button>`)
	if v.Submit != nil {
		b.WriteString(`<button class="btn primary" data-modal-submit>` + html.EscapeString(v.Submit.Text) + `</button>`)
	}
	b.WriteString(`</div>`)
	return b.String()
}

// Payload draws any Block Kit payload the bot sends: a block list, a
// message ({"text", "blocks"}), or a modal view.
func (r *renderer) Payload(raw json.RawMessage) string {
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "[") {
		return r.Blocks(raw, nil)
	}
	var probe struct {
		Type   string          `json:"type"`
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return r.unsupportedBox("payload", "unreadable", raw)
	}
	switch {
	case probe.Type == "modal":
		return r.View(raw, nil)
	case len(probe.Blocks) > 0:
		return r.Blocks(probe.Blocks, nil)
	case probe.Text != "":
		return `<div class="bk-text">` + r.mrkdwn(probe.Text) + `</div>`
	}
	return r.unsupportedBox("payload", "neither blocks, text nor a modal", raw)
}
