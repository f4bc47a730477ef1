package fakeslack

import (
	"fmt"
	"strings"
	"time"
)

// Slack takes a response URL at most five times within 30 minutes.
const (
	responseURLUses = 5
	responseURLLife = 30 * time.Minute
)

// responseURL is one issued response URL.
type responseURL struct {
	user, channel string
	issued        time.Time
	uses          int
}

// changes are the Web API methods that change what a person sees.
var changes = map[string]bool{
	"conversations.open": true, "chat.postMessage": true, "chat.update": true, "chat.postEphemeral": true,
	"views.open": true, "views.push": true, "views.update": true, "files.completeUploadExternal": true,
}

// NewMounted makes a fake Slack that the caller serves itself, at baseURL
// (for example under a prefix of its own server, with http.StripPrefix and
// Handler): `mfadesk demo` serves it beside its page. Close only drops a
// Socket Mode connection.
func NewMounted(baseURL string) *Server {
	s := newServer()
	s.URL = strings.TrimSuffix(baseURL, "/")
	return s
}

// OnChange sets fn to be called, outside the server's lock, after anything
// a person would see changed: a message posted or updated, an ephemeral
// message, a response URL reply, a view opened, updated or closed.
func (s *Server) OnChange(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = fn
}

func (s *Server) changed() {
	s.mu.Lock()
	fn := s.onChange
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// User returns the user with id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

// Stamp returns a fresh message timestamp, later than every one issued
// before: for things shown among the messages that Slack itself makes (a
// slash command's echo).
func (s *Server) Stamp() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("1700000000.%06d", s.next())
}

// OpenIM opens the direct-message channel of the app with user, as
// conversations.open does, and returns its ID.
func (s *Server) OpenIM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.ims[user]
	if !ok {
		ch = "D" + user
		s.ims[user] = ch
	}
	return ch
}
