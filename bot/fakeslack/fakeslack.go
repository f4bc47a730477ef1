// Package fakeslack is a fake Slack for tests, on httptest. Its Web API half
// answers the methods mfadesk calls (auth.test, users.info,
// conversations.open, chat.postMessage, chat.update, chat.postEphemeral,
// views.open, views.update, views.push, files.getUploadURLExternal,
// files.completeUploadExternal, the upload URL, response URLs) the way Slack
// does: token checked, form-encoded or JSON bodies, HTTP 200 with ok:false
// and Slack's error codes, 429 with Retry-After when told to, Block Kit
// checked against Slack's limits. It records every call. Its other half
// (deliver.go) plays Slack calling the app: signed slash commands, view
// submissions and button clicks.
//
// Point slack-go at it with slack.OptionAPIURL(server.APIURL()).
package fakeslack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// DefaultToken is the bot token the server accepts unless told otherwise.
const DefaultToken = "xoxb-fake-token"

// User is a Slack user as users.info describes them.
type User struct {
	ID          string
	Name        string
	RealName    string
	DisplayName string
	Email       string
	IsBot       bool
	Deleted     bool
}

// Call is one request the server received.
type Call struct {
	// Method is the Web API method ("chat.postMessage"), or "response_url"
	// and "upload" for those URLs.
	Method string
	// Args are the form fields, or the JSON body's top-level fields (strings
	// as they are, anything else as JSON text).
	Args map[string]string
	At   time.Time
}

// Message is a message the bot posted, as it stands now.
type Message struct {
	Channel string
	TS      string
	Text    string
	Blocks  json.RawMessage
	// User is who sees it, for ephemeral messages and response URL replies.
	User string
	// Updates counts chat.update calls on it.
	Updates int
}

// View is a modal the bot opened, as it stands now.
type View struct {
	ID              string
	Hash            string
	User            string
	CallbackID      string
	PrivateMetadata string
	// JSON is the view object as the bot last sent it.
	JSON json.RawMessage
}

// File is an uploaded file.
type File struct {
	ID, Name, Title, Channel string
	Content                  []byte
	Completed                bool
}

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// Server is the fake Slack. Its zero value is not usable: call New.
type Server struct {
	// URL is the server's base URL.
	URL string
	// Token is the bot token API calls must carry; AppToken the app-level
	// token apps.connections.open (Socket Mode) must carry.
	Token    string
	AppToken string

	srv        *httptest.Server
	calls      fakeapi.Log[Call]
	faults     fakeapi.Faults // matched on the method name
	triggerTTL fakeapi.Var[time.Duration]
	// undocumented collects what Slack's published description does not
	// document (see Undocumented).
	undocumented fakeapi.Undocumented

	mu         sync.Mutex
	seq        int
	users      map[string]User
	channels   map[string]bool
	outside    map[string]bool   // public channels the bot is not in
	ims        map[string]string // user -> IM channel
	messages   []*Message
	ephemerals []Message
	responses  map[string]*responseURL
	views      map[string]*View
	triggers   map[string]*trigger
	delays     map[string]time.Duration
	files      map[string]*File
	sock       *socket
	onChange   func()
}

// New starts a fake Slack; Close stops it.
func New() *Server {
	s := newServer()
	s.srv = httptest.NewServer(s.Handler())
	s.URL = s.srv.URL
	return s
}

func newServer() *Server {
	s := &Server{
		Token: DefaultToken, AppToken: DefaultAppToken, sock: newSocket(),
		users: map[string]User{}, channels: map[string]bool{}, outside: map[string]bool{}, ims: map[string]string{},
		responses: map[string]*responseURL{}, views: map[string]*View{},
		triggers: map[string]*trigger{}, delays: map[string]time.Duration{}, files: map[string]*File{},
	}
	s.triggerTTL.Set(3 * time.Second)
	return s
}

// Handler answers the fake's URLs: /api/{method}, /response/{id},
// /upload/{id} and /socket, relative to URL.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponse)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	mux.HandleFunc("GET /socket", s.serveSocket)
	return mux
}

// Close shuts the server down (a mounted one only drops its Socket Mode
// connection).
func (s *Server) Close() {
	s.sock.mu.Lock()
	if s.sock.conn != nil {
		_ = s.sock.conn.Close()
	}
	s.sock.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
	}
}

// APIURL is the base URL for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// AddUser makes u known to users.info and conversations.open.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddChannel makes a channel the bot may post in.
func (s *Server) AddChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = true
	delete(s.outside, id)
}

// AddChannelWithoutBot makes a public channel the bot is not a member of:
// conversations.info says is_member false and chat.postMessage answers
// not_in_channel, as Slack does until someone runs /invite @mfadesk.
func (s *Server) AddChannelWithoutBot(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.channels, id)
	s.outside[id] = true
}

// SetTriggerTTL changes how long a trigger_id may be used (3s, as in Slack).
func (s *Server) SetTriggerTTL(d time.Duration) { s.triggerTTL.Set(d) }

// NewTrigger issues a trigger_id for user, usable once within the trigger
// TTL.
func (s *Server) NewTrigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%d.%s", s.next(), "TRIGGER")
	s.triggers[id] = &trigger{user: user, issued: time.Now()}
	return id
}

// NewResponseURL issues a response URL for a command user ran.
func (s *Server) NewResponseURL(user string) string { return s.newResponseURL(user, "") }

func (s *Server) newResponseURL(user, channel string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("R%d", s.next())
	s.responses[id] = &responseURL{user: user, channel: channel, issued: time.Now()}
	return s.URL + "/response/" + id
}

// RateLimit makes the next n calls of method answer 429 with Retry-After.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.faults.Add(fakeapi.Fault{Match: method, Status: http.StatusTooManyRequests, Code: "ratelimited",
		RetryAfter: fmt.Sprint(int((retryAfter + time.Second - 1) / time.Second)), Times: n})
}

// Fail makes the next call of method answer ok:false with code.
func (s *Server) Fail(method, code string) {
	s.faults.Add(fakeapi.Fault{Match: method, Status: http.StatusOK, Code: code, Times: 1})
}

// Delay makes every call of method take at least d (0 removes it).
func (s *Server) Delay(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[method] = d
}

// Calls returns the calls received, of the given methods only if any.
func (s *Server) Calls(methods ...string) []Call {
	var out []Call
	for _, c := range s.calls.All() {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages in channel, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copies(slices.Values(s.messages), func(m *Message) bool { return m.Channel == channel })
}

// Ephemerals returns the ephemeral messages posted, oldest first.
func (s *Server) Ephemerals() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals)
}

// Responses returns the replies posted to response URLs, oldest first.
func (s *Server) Responses() []Message {
	var out []Message
	for _, c := range s.calls.All() {
		if c.Method == "response_url" {
			out = append(out, Message{Channel: c.Args["_channel"], TS: c.Args["_ts"], Text: c.Args["text"],
				Blocks: plainJSON(json.RawMessage(c.Args["blocks"])), User: c.Args["_user"]})
		}
	}
	return out
}

// IM returns the direct-message channel of user ("" before
// conversations.open).
func (s *Server) IM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ims[user]
}

// View returns the view with id.
func (s *Server) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// Views returns the views opened by user, oldest first.
func (s *Server) Views(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := copies(maps.Values(s.views), func(v *View) bool { return v.User == user })
	slices.SortFunc(out, func(a, b View) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Files returns the uploaded files.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := copies(maps.Values(s.files), func(*File) bool { return true })
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// copies returns *p for every p of ps that keep accepts, in order.
func copies[T any](ps iter.Seq[*T], keep func(*T) bool) []T {
	var out []T
	for p := range ps {
		if keep(p) {
			out = append(out, *p)
		}
	}
	return out
}

// next returns a fresh sequence number; the caller holds s.mu.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

// args reads a request's parameters, form-encoded or JSON.
func args(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if len(body) > 0 {
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, err
			}
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				out[k] = str
			} else {
				out[k] = string(v)
			}
		}
		for k, v := range r.URL.Query() {
			out[k] = v[0]
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.Form {
		out[k] = v[0]
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func slackError(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

type obj = map[string]any

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	a, err := args(r)
	if err != nil {
		slackError(w, "invalid_form_data")
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = a["token"]
	}
	delete(a, "token")

	s.calls.Add(Call{Method: method, Args: a, At: time.Now()})
	f, faulty := s.faults.Take(method)
	s.mu.Lock()
	delay := s.delays[method]
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case token == "":
		slackError(w, "not_authed")
		return
	case token != s.Token && method != "apps.connections.open",
		method == "apps.connections.open" && token != s.AppToken:
		slackError(w, "invalid_auth")
		return
	case faulty && f.Code == "ratelimited":
		w.Header().Set("Retry-After", cmp.Or(f.RetryAfter, "0"))
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, obj{"ok": false, "error": "ratelimited"})
		return
	case faulty:
		slackError(w, f.Code)
		return
	}
	h, ok := s.methods()[method]
	if !ok {
		slackError(w, "unknown_method")
		return
	}
	s.mu.Lock()
	res, code := h(a)
	s.mu.Unlock()
	if code != "" {
		slackError(w, code)
		return
	}
	res["ok"] = true
	writeJSON(w, res)
	if changes[method] {
		s.changed()
	}
}

func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := args(r)
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	ru, ok := s.responses[id]
	switch {
	case !ok:
		s.mu.Unlock()
		http.Error(w, "unknown response URL", http.StatusNotFound)
		return
	case ru.uses >= responseURLUses || time.Since(ru.issued) > responseURLLife:
		// Slack takes a response URL five times within 30 minutes.
		s.mu.Unlock()
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	ru.uses++
	a["_user"], a["_channel"], a["_ts"] = ru.user, ru.channel, fmt.Sprintf("1700000000.%06d", s.next())
	s.calls.Add(Call{Method: "response_url", Args: a, At: time.Now()})
	s.mu.Unlock()
	writeJSON(w, obj{"ok": true})
	s.changed()
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var content []byte
	if f, _, err := r.FormFile("file"); err == nil {
		content, _ = io.ReadAll(f)
	} else {
		content, _ = io.ReadAll(r.Body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.Add(Call{Method: "upload", Args: map[string]string{"file_id": id}, At: time.Now()})
	f, ok := s.files[id]
	if !ok {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	f.Content = content
	fmt.Fprintf(w, "OK - %d", len(content))
}

// userJSON renders u as users.info does.
func userJSON(u User) obj {
	return obj{
		"id": u.ID, "name": u.Name, "real_name": u.RealName, "deleted": u.Deleted, "is_bot": u.IsBot,
		"profile": obj{"email": u.Email, "real_name": u.RealName, "display_name": u.DisplayName},
	}
}

// params splits a comma-separated list parameter.
func params(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
