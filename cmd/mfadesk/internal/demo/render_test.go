package demo

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBlockKitCoverage draws every golden Block Kit file of bot/ with the
// page's renderer: the page must know every block and element the bot
// sends, so that the demo never shows an "unsupported block" box for it.
func TestBlockKitCoverage(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..", "bot")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".golden.json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d golden Block Kit files under %s: has the layout changed?", len(files), root)
	}
	for _, f := range files {
		name, _ := filepath.Rel(root, f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := newRenderer()
			out := r.Payload(json.RawMessage(raw))
			if len(r.unsupported) > 0 || strings.Contains(out, `class="unsupported"`) {
				t.Errorf("the page cannot draw %v", r.unsupported)
			}
			if strings.TrimSpace(out) == "" {
				t.Error("drew nothing")
			}
		})
	}
}

// TestUnsupportedBlockShown checks that Block Kit the page does not know is
// drawn as a visible box naming it, never dropped.
func TestUnsupportedBlockShown(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"unknown block", `[{"type":"rich_text","elements":[]}]`, "unsupported block: <code>rich_text</code>"},
		{"unknown element", `[{"type":"actions","elements":[{"type":"overflow","action_id":"x"}]}]`, "unsupported element: <code>overflow</code>"},
		{"unknown context element", `[{"type":"context","elements":[{"type":"video"}]}]`, "unsupported context element: <code>video</code>"},
		{"input in a message", `[{"type":"input","label":{"type":"plain_text","text":"x"},"element":{"type":"plain_text_input"}}]`, "unsupported block: <code>input outside a modal</code>"},
		{"unknown input element", `{"type":"modal","title":{"type":"plain_text","text":"t"},"blocks":[{"type":"input","block_id":"b","label":{"type":"plain_text","text":"x"},"element":{"type":"datepicker"}}]}`, "unsupported input element: <code>datepicker</code>"},
		{"not Block Kit", `{"hello":1}`, "unsupported payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRenderer()
			out := r.Payload(json.RawMessage(tt.payload))
			if !strings.Contains(out, tt.want) || len(r.unsupported) != 1 {
				t.Errorf("got %q (unsupported %v), want it to show %q", out, r.unsupported, tt.want)
			}
		})
	}
}

func TestRenderBlocks(t *testing.T) {
	tests := []struct {
		name, payload string
		want          []string
	}{
		{"header and divider", `[{"type":"header","text":{"type":"plain_text","text":"A <b> & c"}},{"type":"divider"}]`,
			[]string{`<div class="bk-header">A &lt;b&gt; &amp; c</div>`, `<hr class="bk-divider">`}},
		{"section fields", `[{"type":"section","fields":[{"type":"mrkdwn","text":"*Who*\n<@U0BOB>"}]}]`,
			[]string{`<div class="bk-field"><b>Who</b><br><span class="mention">@Bob</span></div>`}},
		{"buttons", `[{"type":"actions","block_id":"b1","elements":[{"type":"button","action_id":"approve","value":"R1","style":"primary","text":{"type":"plain_text","text":"Approve"}},{"type":"button","action_id":"go","url":"https://example.com/x?a=1&b=2","text":{"type":"plain_text","text":"Sign in"}}]}]`,
			[]string{`class="btn primary" data-action-id="approve" data-value="R1" data-block-id="b1">Approve</button>`,
				`data-url="https://example.com/x?a=1&amp;b=2"`}},
		{"image", `[{"type":"image","image_url":"https://example.com/c.png","alt_text":"chart \"x\""}]`,
			[]string{`<img src="https://example.com/c.png" alt="chart &#34;x&#34;">`}},
		{"context", `[{"type":"context","elements":[{"type":"mrkdwn","text":"_note_"},{"type":"image","image_url":"https://example.com/i.png","alt_text":"i"}]}]`,
			[]string{`<span><i>note</i></span>`, `<img src="https://example.com/i.png" alt="i">`}},
		{"message with text only", `{"text":"hello *you*"}`, []string{`hello <b>you</b>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRenderer()
			out := r.Payload(json.RawMessage(tt.payload))
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("got\n%s\nwant it to contain\n%s", out, w)
				}
			}
			if len(r.unsupported) > 0 {
				t.Errorf("unsupported: %v", r.unsupported)
			}
		})
	}
}

func TestRenderModal(t *testing.T) {
	view := `{"type":"modal","title":{"type":"plain_text","text":"MFA request"},"submit":{"type":"plain_text","text":"Send"},
	"blocks":[
	 {"type":"input","block_id":"targets","label":{"type":"plain_text","text":"Users"},"element":{"type":"multi_users_select","action_id":"targets","initial_users":["U0BOB"]}},
	 {"type":"input","block_id":"action","label":{"type":"plain_text","text":"Action"},"element":{"type":"static_select","action_id":"action","options":[{"text":{"type":"plain_text","text":"Reset password"},"value":"reset-password"},{"text":{"type":"plain_text","text":"Revoke"},"value":"revoke-mfa-sessions"}],"initial_option":{"text":{"type":"plain_text","text":"Revoke"},"value":"revoke-mfa-sessions"}}},
	 {"type":"input","block_id":"reason","optional":true,"label":{"type":"plain_text","text":"Reason"},"element":{"type":"plain_text_input","action_id":"reason","multiline":true,"initial_value":"lost <phone>"}}]}`
	r := newRenderer()
	out := r.View(json.RawMessage(view), nil)
	for _, w := range []string{`value="U0BOB" checked`, `<option value="revoke-mfa-sessions" selected>`,
		`>lost &lt;phone&gt;</textarea>`, `(optional)`, `data-modal-submit>Send</button>`, `data-modal-close>Cancel</button>`} {
		if !strings.Contains(out, w) {
			t.Errorf("modal lacks %s:\n%s", w, out)
		}
	}
	// After a submission with errors: the values entered stay, the error
	// shows under its field.
	v := "x"
	out = r.View(json.RawMessage(view), &formState{
		Values: map[string]map[string]stateValue{"targets": {"targets": {Type: "multi_users_select", SelectedUsers: []string{"U0CAROL"}}},
			"reason": {"reason": {Type: "plain_text_input", Value: &v}}},
		Errors: map[string]string{"targets": "Carol <cannot> be reset"},
	})
	for _, w := range []string{`value="U0CAROL" checked`, `value="U0BOB">`, `>x</textarea>`,
		`<div class="error">Carol &lt;cannot&gt; be reset</div>`, `bk-input has-error`} {
		if !strings.Contains(out, w) {
			t.Errorf("modal after errors lacks %s:\n%s", w, out)
		}
	}
}

func TestMrkdwn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"},
		{"snake_case_name stays", "snake_case_name stays"},
		{"2*3*4", "2*3*4"},
		{"`code *not bold*`", "<code>code *not bold*</code>"},
		{"```a\n<b>```", "<pre>a\n&lt;b&gt;</pre>"},
		{"&lt;script&gt; &amp; co", "&lt;script&gt; &amp; co"},
		{"<script>", "script"},
		{"<@U0BOB> and <@U0NOBODY|x>", `<span class="mention">@Bob</span> and <span class="mention">@U0NOBODY</span>`},
		{"<#C0APPROVALS>", `<span class="mention">#mfa-approvals</span>`},
		{"<https://example.com/a?b=1&amp;c=2|the link>", `<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener">the link</a>`},
		{"<javascript:alert(1)|click>", "click"},
		{"<!here>", `<span class="mention">@here</span>`},
		{"<!date^1700000000^{date}|Nov 14>", "Nov 14"},
		{"line one\nline two", "line one<br>line two"},
		{"> quoted\n> more\nafter", "<blockquote>quoted<br>more</blockquote>after"},
		{":white_check_mark: done :unknown_thing:", "✅ done :unknown_thing:"},
		{`"quotes" & 'apostrophes'`, "&#34;quotes&#34; &amp; &#39;apostrophes&#39;"},
	}
	for _, tt := range tests {
		if got := newRenderer().mrkdwn(tt.in); got != tt.want {
			t.Errorf("mrkdwn(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestEmojiCoverage checks that every emoji shortcode in bot/'s source is
// one the page draws, as Slack does, rather than showing ":shortcode:".
func TestEmojiCoverage(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..", "bot")
	// A shortcode stands alone: after a space or a quote, before one.
	code := regexp.MustCompile("(?:^|[\\s\"`(])(?::([a-z0-9_+-]+):)(?:$|[\\s\"`)])")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range code.FindAllStringSubmatch(string(src), -1) {
			if _, ok := emoji[m[1]]; !ok {
				t.Errorf("%s uses :%s:, which the page does not draw", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
