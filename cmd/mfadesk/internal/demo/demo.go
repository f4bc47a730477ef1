// Package demo is `mfadesk demo`'s Slack stand-in: a web page that plays
// Slack for the simulated people of People, in front of the real bot. The
// page's Web API is bot/fakeslack (SLACK_API_URL points the bot at it), and
// what people type and click goes to the bot's real /slack/commands and
// /slack/interactivity, signed as Slack signs them; so the demo runs the
// code paths that `mfadesk serve` runs. See "Try it: mfadesk demo" in the
// README.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

//go:embed web policy.yaml
var files embed.FS

// Policy is the demo's policy file: the roles of People.
func Policy() []byte {
	b, _ := files.ReadFile("policy.yaml")
	return b
}

// SlackPrefix is where the page serves its Slack Web API.
const SlackPrefix = "/fake-slack"

// AuditLog is the audit log the page shows; *storage.Store implements it.
type AuditLog interface {
	// Events calls fn for each event after afterSeq at or after since,
	// oldest first.
	Events(ctx context.Context, afterSeq int64, since time.Time, fn func(actions.Event) error) error
}

// Demo is the page and its Slack. Create it with New.
type Demo struct {
	base   string
	secret string
	slack  *fakeslack.Server
	app    *fakeslack.App
	dir    *Directory
	log    *slog.Logger

	mu      sync.Mutex
	audit   AuditLog
	forms   map[string]*formState // by view ID: what was submitted, and its errors
	local   []localItem           // what the page shows that Slack itself makes
	seen    map[string]time.Time  // when each message was first shown
	version uint64
	wake    chan struct{} // closed and replaced on every change
	done    chan struct{} // closed by Close
	closed  bool
}

// localItem is a line the page shows that is not the bot's: a person's
// slash command as they typed it, the command's HTTP answer, or Slack's
// own error.
type localItem struct {
	TS, Channel, User string
	From              string // the person's Slack ID, or "" for the app
	Text              string // mrkdwn
	Blocks            json.RawMessage
}

// New returns the demo for a page served at baseURL
// (http://127.0.0.1:8080), with a fresh bot token and signing secret.
func New(baseURL string, log *slog.Logger) *Demo {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimSuffix(baseURL, "/")
	d := &Demo{
		base: base, secret: randomHex(32), slack: fakeslack.NewMounted(base + SlackPrefix), dir: NewDirectory(), log: log,
		forms: map[string]*formState{}, seen: map[string]time.Time{}, wake: make(chan struct{}), done: make(chan struct{}),
	}
	d.slack.Token = "xoxb-demo-" + randomHex(12)
	d.slack.AppToken = "xapp-demo-" + randomHex(12) // never handed out: no Socket Mode
	d.app = d.slack.App(base, d.secret)
	d.app.HTTP = &http.Client{Timeout: 15 * time.Second}
	d.app.Channel = ChannelHelpdesk
	for _, c := range Channels {
		d.slack.AddChannel(c.ID)
	}
	for _, p := range People {
		d.slack.AddUser(fakeslack.User{ID: p.SlackID, Name: p.Handle, RealName: p.Name, DisplayName: p.Name, Email: p.Email})
		d.slack.OpenIM(p.SlackID)
	}
	d.slack.OnChange(d.changed)
	d.dir.onPush = d.changed
	return d
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Env is the Slack part of the bot's environment: the page's token, signing
// secret and Web API URL. Secrets made fresh for this run, never printed.
func (d *Demo) Env() map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":      d.slack.Token,
		"SLACK_SIGNING_SECRET": d.secret,
		"SLACK_API_URL":        d.slack.APIURL(),
	}
}

// Directory returns the simulated directory the bot must act on.
func (d *Demo) Directory() *Directory { return d.dir }

// Slack returns the page's fake Slack, for tests.
func (d *Demo) Slack() *fakeslack.Server { return d.slack }

// SetAudit gives the page the audit log to show, once the bot's store is
// open.
func (d *Demo) SetAudit(a AuditLog) {
	d.mu.Lock()
	d.audit = a
	d.mu.Unlock()
	d.changed()
}

// Close ends the pages' event streams, so that the server can shut down.
func (d *Demo) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.done)
	}
}

// changed wakes every page waiting for news.
func (d *Demo) changed() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.version++
	close(d.wake)
	d.wake = make(chan struct{})
}

// Routes registers the page: / and /demo/… for the browser, and the Slack
// Web API under SlackPrefix for the bot.
func (d *Demo) Routes(mux *http.ServeMux) {
	web, _ := fs.Sub(files, "web")
	mux.Handle("GET /{$}", serveFile(web, "index.html"))
	mux.Handle("GET /demo/audit", serveFile(web, "audit.html"))
	mux.Handle("GET /demo/static/", http.StripPrefix("/demo/static/", http.FileServerFS(web)))
	mux.HandleFunc("GET /demo/state", d.serveState)
	mux.HandleFunc("GET /demo/events", d.serveEvents)
	mux.HandleFunc("GET /demo/audit.json", d.serveAudit)
	mux.HandleFunc("POST /demo/command", d.serveCommand)
	mux.HandleFunc("POST /demo/click", d.serveClick)
	mux.HandleFunc("POST /demo/submit", d.serveSubmit)
	mux.HandleFunc("POST /demo/close", d.serveClose)
	mux.HandleFunc("POST /demo/push", d.servePush)
	mux.Handle(SlackPrefix+"/", http.StripPrefix(SlackPrefix, d.slack.Handler()))
}

func serveFile(fsys fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, fsys, name)
	})
}

// serveEvents streams "changed" events (server-sent events) until the
// browser leaves.
func (d *Demo) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		d.mu.Lock()
		v, wake := d.version, d.wake
		d.mu.Unlock()
		if _, err := w.Write([]byte("retry: 1000\ndata: " + itoa(v) + "\n\n")); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	wait:
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case <-wake:
		case <-keepAlive.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			goto wait
		}
	}
}

func itoa(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// person reads the "as" person of a request.
func person(id string) (Person, bool) { return PersonByID(id) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	http.Error(w, msg, http.StatusBadRequest)
}
