package demo

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// The page's own API: what one person sees (/demo/state), and what they do
// (/demo/command, /demo/click, /demo/submit, /demo/close), each turned into
// what Slack would send the app.

type personJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Handle string `json:"handle"`
	Title  string `json:"title"`
}

type convJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Kind  string `json:"kind"` // "channel" or "dm"
	Topic string `json:"topic"`
	HTML  string `json:"html"`
	Count int    `json:"count"`
}

type modalJSON struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
	HTML string `json:"html"`
}

type dirUserJSON struct {
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Manager string   `json:"manager"`
	Admin   bool     `json:"admin"`
	Blocked bool     `json:"blocked"`
	Factors []string `json:"factors"`
	Log     []string `json:"log"`
}

// phoneJSON is a push waiting on the person's phone.
type phoneJSON struct {
	ID      string `json:"id"`
	Choices []int  `json:"choices"`
	Sent    string `json:"sent"`
}

type stateJSON struct {
	Version       uint64        `json:"version"`
	Me            string        `json:"me"`
	People        []personJSON  `json:"people"`
	Conversations []convJSON    `json:"conversations"`
	Modal         *modalJSON    `json:"modal"`
	Directory     []dirUserJSON `json:"directory"`
	Phone         []phoneJSON   `json:"phone"`
}

// item is one line in a conversation, in Slack's order.
type item struct {
	seq  int
	html string
}

func tsSeq(ts string) int {
	_, frac, _ := strings.Cut(ts, ".")
	n, _ := strconv.Atoi(frac)
	return n
}

// serveState answers what person ?as= sees now.
func (d *Demo) serveState(w http.ResponseWriter, r *http.Request) {
	me, ok := person(r.URL.Query().Get("as"))
	if !ok {
		badRequest(w, "unknown person")
		return
	}
	writeJSON(w, d.state(me))
}

func (d *Demo) state(me Person) stateJSON {
	d.mu.Lock()
	version := d.version
	local := slices.Clone(d.local)
	d.mu.Unlock()
	st := stateJSON{Version: version, Me: me.SlackID}
	for _, p := range People {
		st.People = append(st.People, personJSON{ID: p.SlackID, Name: p.Name, Handle: p.Handle, Title: p.Title})
	}
	convs := make([]convJSON, 0, len(Channels)+1)
	for _, c := range Channels {
		convs = append(convs, convJSON{ID: c.ID, Name: c.Name, Kind: "channel", Topic: c.Topic})
	}
	convs = append(convs, convJSON{ID: d.slack.IM(me.SlackID), Name: "mfadesk", Kind: "dm",
		Topic: "Your direct messages with the mfadesk app: only you see them"})
	ephemerals, responses := d.slack.Ephemerals(), d.slack.Responses()
	for i := range convs {
		c := &convs[i]
		var items []item
		for _, m := range d.slack.Messages(c.ID) {
			items = append(items, item{tsSeq(m.TS), d.message(m, false)})
		}
		for _, m := range append(ephemerals, responses...) {
			if m.User == me.SlackID && m.Channel == c.ID {
				items = append(items, item{tsSeq(m.TS), d.message(m, true)})
			}
		}
		for _, l := range local {
			if l.User == me.SlackID && l.Channel == c.ID {
				items = append(items, item{tsSeq(l.TS), d.localHTML(l)})
			}
		}
		slices.SortStableFunc(items, func(a, b item) int { return a.seq - b.seq })
		var b strings.Builder
		for _, it := range items {
			b.WriteString(it.html)
		}
		c.HTML, c.Count = b.String(), len(items)
	}
	st.Conversations = convs
	views := d.slack.Views(me.SlackID)
	if len(views) > 0 {
		v := views[len(views)-1]
		d.mu.Lock()
		form := d.forms[v.ID]
		d.mu.Unlock()
		st.Modal = &modalJSON{ID: v.ID, Hash: v.Hash, HTML: newRenderer().View(v.JSON, form)}
		if form != nil {
			st.Modal.Hash += "/" + strconv.Itoa(len(form.Errors)) + strconv.FormatUint(version, 10)
		}
	}
	for _, p := range d.dir.Pushes(me.DirectoryID) {
		st.Phone = append(st.Phone, phoneJSON{ID: p.ID, Choices: p.Choices, Sent: p.Sent.Format("15:04:05")})
	}
	for _, u := range d.dir.Users() {
		mgr := ""
		if m, ok := PersonByID(u.Manager); ok {
			mgr = m.Name
		}
		st.Directory = append(st.Directory, dirUserJSON{Name: u.Name, Email: u.Email, Manager: mgr, Admin: u.Admin,
			Blocked: u.Blocked, Factors: u.Factors, Log: u.Log})
	}
	return st
}

// when returns the time a message was first shown, as Slack shows it.
func (d *Demo) when(ts string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.seen[ts]
	if !ok {
		t = time.Now()
		d.seen[ts] = t
	}
	return t.Format("15:04:05")
}

// message draws one of the bot's messages.
func (d *Demo) message(m fakeslack.Message, private bool) string {
	return d.frame("", m.Channel, m.TS, private, m.Updates > 0, messageBody(m.Blocks, m.Text))
}

// messageBody draws a message's blocks, or its text when it has none.
func messageBody(blocks json.RawMessage, text string) string {
	r := newRenderer()
	if len(blocks) > 0 {
		return r.Blocks(blocks, nil)
	}
	return `<div class="bk-text">` + r.mrkdwn(text) + `</div>`
}

// frame draws a message line: avatar, name, time, then body.
func (d *Demo) frame(from, channel, ts string, private, edited bool, body string) string {
	name, avatar, cls := "mfadesk", "m", "msg"
	if p, ok := PersonByID(from); ok {
		name, avatar = p.Name, p.Name[:1]
		cls += " human"
	}
	if private {
		cls += " ephemeral"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="%s" data-channel="%s" data-ts="%s"><div class="avatar">%s</div><div class="msg-main"><div class="msg-meta"><b>%s</b>`,
		cls, html.EscapeString(channel), html.EscapeString(ts), html.EscapeString(avatar), html.EscapeString(name))
	if from == "" {
		b.WriteString(`<span class="tag">APP</span>`)
	}
	b.WriteString(`<span class="time">` + d.when(ts) + `</span>`)
	if edited {
		b.WriteString(`<span class="edited">(edited)</span>`)
	}
	if private {
		b.WriteString(`<span class="only-you">Only visible to you</span>`)
	}
	b.WriteString(`</div><div class="msg-body">` + body + `</div></div></div>`)
	return b.String()
}

// localHTML draws a line shown to one person only.
func (d *Demo) localHTML(l localItem) string {
	return d.frame(l.From, l.Channel, l.TS, true, false, messageBody(l.Blocks, l.Text))
}

// addLocal shows a line to one person in one conversation.
func (d *Demo) addLocal(l localItem) {
	l.TS = d.slack.Stamp()
	d.mu.Lock()
	d.local = append(d.local, l)
	d.mu.Unlock()
	d.changed()
}

// readJSON decodes a small JSON body.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		badRequest(w, "bad JSON: "+err.Error())
		return false
	}
	return true
}

var mention = regexp.MustCompile(`(^|[\s(])@([a-z]+)\b`)
var channelRef = regexp.MustCompile(`(^|[\s(])#([a-z-]+)\b`)

// slackText turns what a person typed into what Slack sends a command with
// should_escape: &, < and > escaped, @handle as <@U…|handle>, #channel as
// <#C…|channel>.
func slackText(typed string) string {
	s := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(typed)
	s = mention.ReplaceAllStringFunc(s, func(m string) string {
		sub := mention.FindStringSubmatch(m)
		for _, p := range People {
			if strings.EqualFold(p.Handle, sub[2]) {
				return sub[1] + "<@" + p.SlackID + "|" + p.Handle + ">"
			}
		}
		return m
	})
	return channelRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := channelRef.FindStringSubmatch(m)
		for _, c := range Channels {
			if c.Name == sub[2] {
				return sub[1] + "<#" + c.ID + "|" + c.Name + ">"
			}
		}
		return m
	})
}

// conversation checks that channel is one the person can type in.
func (d *Demo) conversation(me Person, channel string) bool {
	for _, c := range Channels {
		if c.ID == channel {
			return true
		}
	}
	return channel == d.slack.IM(me.SlackID)
}

// serveCommand runs a slash command as a person types it: Slack signs it and
// posts it to the app, and shows the app's HTTP answer to that person only.
func (d *Demo) serveCommand(w http.ResponseWriter, r *http.Request) {
	var in struct{ As, Channel, Text string }
	if !readJSON(w, r, &in) {
		return
	}
	me, ok := person(in.As)
	if !ok || !d.conversation(me, in.Channel) {
		badRequest(w, "unknown person or conversation")
		return
	}
	typed := strings.TrimSpace(in.Text)
	cmd, rest, _ := strings.Cut(typed, " ")
	if !strings.HasPrefix(cmd, "/") {
		writeJSON(w, map[string]string{"error": "This stand-in only takes slash commands: try /mfa help"})
		return
	}
	d.addLocal(localItem{Channel: in.Channel, User: me.SlackID, From: me.SlackID, Text: "`" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(typed) + "`"})
	if cmd != "/mfa" {
		d.addLocal(localItem{Channel: in.Channel, User: me.SlackID, Text: "`" + cmd + "` is not a valid command. In this workspace, the app's command is `/mfa`."})
		writeJSON(w, map[string]string{})
		return
	}
	form := d.slack.CommandForm(me.SlackID, in.Channel, cmd, slackText(strings.TrimSpace(rest)))
	reply, err := d.app.Send("/slack/commands", []byte(form.Encode()), 0)
	d.answer(in.Channel, me, reply, err)
	writeJSON(w, map[string]string{})
}

// answer shows an app's HTTP answer to a command as Slack does: an
// ephemeral message to the person, or Slack's error when the app failed.
func (d *Demo) answer(channel string, me Person, reply *fakeslack.Reply, err error) {
	switch {
	case err != nil:
		d.addLocal(localItem{Channel: channel, User: me.SlackID, Text: "Slack: the app did not answer (`" + err.Error() + "`)."})
	case reply.Status != http.StatusOK:
		d.addLocal(localItem{Channel: channel, User: me.SlackID, Text: fmt.Sprintf("Slack: `/mfa` failed with the error \"dispatch_failed\" (the app answered HTTP %d).", reply.Status)})
	case len(strings.TrimSpace(string(reply.Body))) > 0:
		var a struct {
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks"`
		}
		if json.Unmarshal(reply.Body, &a) != nil {
			a.Text = string(reply.Body) // Slack shows a plain-text answer as it is
		}
		d.addLocal(localItem{Channel: channel, User: me.SlackID, Text: a.Text, Blocks: a.Blocks})
	}
}

// interaction posts an interaction payload as Slack does.
func (d *Demo) interaction(payload any) (*fakeslack.Reply, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return d.app.Send("/slack/interactivity", []byte(url.Values{"payload": {string(b)}}.Encode()), 0)
}

// serveClick presses a button in a message as a person.
func (d *Demo) serveClick(w http.ResponseWriter, r *http.Request) {
	var in struct{ As, Channel, TS, ActionID, Value string }
	if !readJSON(w, r, &in) {
		return
	}
	me, ok := person(in.As)
	if !ok || !d.conversation(me, in.Channel) || in.ActionID == "" {
		badRequest(w, "unknown person, conversation or button")
		return
	}
	reply, err := d.interaction(d.slack.ClickPayload(me.SlackID, in.Channel, in.TS, in.ActionID, in.Value))
	if err != nil || reply.Status != http.StatusOK {
		d.answer(in.Channel, me, reply, err)
	}
	writeJSON(w, map[string]string{})
}

// serveSubmit submits a person's open modal with the values they entered,
// and does with the app's answer what Slack does.
func (d *Demo) serveSubmit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		As     string
		ViewID string
		Values map[string]map[string]stateValue
	}
	if !readJSON(w, r, &in) {
		return
	}
	me, ok := person(in.As)
	v, open := d.slack.View(in.ViewID)
	if !ok || !open || v.User != me.SlackID {
		badRequest(w, "no such open view for this person")
		return
	}
	values := fakeslack.Values{}
	for block, byAction := range in.Values {
		values[block] = map[string]any{}
		for action, sv := range byAction {
			values[block][action] = sv
		}
	}
	payload, err := d.slack.SubmissionPayload(in.ViewID, me.SlackID, values)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	reply, err := d.interaction(payload)
	if err != nil || reply.Status != http.StatusOK {
		writeJSON(w, map[string]string{"error": "The app did not accept the form (Slack would say: We had some trouble connecting)."})
		return
	}
	var a struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(reply.Body, &a)
	switch a.ResponseAction {
	case "errors":
		d.mu.Lock()
		d.forms[in.ViewID] = &formState{Values: in.Values, Errors: a.Errors}
		d.mu.Unlock()
		d.changed()
	case "update", "push":
		d.mu.Lock()
		delete(d.forms, in.ViewID)
		d.mu.Unlock()
		if err := d.slack.ApplyViewAnswer(in.ViewID, reply.Body); err != nil {
			d.log.Warn("demo: the app's view answer was refused", "error", err)
			writeJSON(w, map[string]string{"error": "Slack refused the app's answer: " + err.Error()})
			return
		}
	default: // "clear", or an empty answer: Slack closes the modal
		d.slack.CloseView(in.ViewID)
	}
	writeJSON(w, map[string]string{})
}

// servePush answers a push on the person's phone: the number they tap, or
// 0 for "No, it's not me".
func (d *Demo) servePush(w http.ResponseWriter, r *http.Request) {
	var in struct {
		As, ID string
		Number int
	}
	if !readJSON(w, r, &in) {
		return
	}
	me, ok := person(in.As)
	if !ok {
		badRequest(w, "unknown person")
		return
	}
	if err := d.dir.AnswerPush(me.DirectoryID, in.ID, in.Number); err != nil {
		writeJSON(w, map[string]string{"error": err.Error()})
		return
	}
	d.changed()
	writeJSON(w, map[string]string{})
}

// serveClose closes a person's modal.
func (d *Demo) serveClose(w http.ResponseWriter, r *http.Request) {
	var in struct{ As, ViewID string }
	if !readJSON(w, r, &in) {
		return
	}
	me, ok := person(in.As)
	if v, open := d.slack.View(in.ViewID); ok && open && v.User == me.SlackID {
		d.slack.CloseView(in.ViewID)
	}
	writeJSON(w, map[string]string{})
}
