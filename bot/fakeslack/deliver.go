package fakeslack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Sign returns the X-Slack-Signature and X-Slack-Request-Timestamp headers
// Slack sends with body at time ts.
func Sign(secret string, ts time.Time, body []byte) (signature, timestamp string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", timestamp)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil)), timestamp
}

// App sends an app what Slack sends it: signed slash commands, view
// submissions and button clicks, to its HTTP endpoints.
type App struct {
	s      *Server
	base   string
	secret string
	// HTTP is the client used (http.DefaultClient unless set).
	HTTP *http.Client
	// Channel is where commands are run (default C0COMMANDS).
	Channel string

	mu       sync.Mutex
	lastPath string
	lastBody []byte
}

// App returns a sender to the app served at baseURL, signing with secret.
func (s *Server) App(baseURL, secret string) *App {
	return &App{s: s, base: baseURL, secret: secret, HTTP: http.DefaultClient, Channel: "C0COMMANDS"}
}

// Reply is the app's answer.
type Reply struct {
	Status int
	Body   []byte
}

// JSON decodes the body into v.
func (r *Reply) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Post sends body to path with the given headers, unsigned: for forged
// and stale requests.
func (a *App) Post(path string, body []byte, header http.Header) (*Reply, error) {
	req, err := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return &Reply{Status: resp.StatusCode, Body: out}, err
}

// Last returns the path and body of the last payload sent.
func (a *App) Last() (path string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastPath, a.lastBody
}

// Send signs body now and posts it to path, as Slack delivers a payload;
// retry > 0 adds X-Slack-Retry-Num, as Slack's retries carry.
func (a *App) Send(path string, body []byte, retry int) (*Reply, error) {
	sig, ts := Sign(a.secret, time.Now(), body)
	h := http.Header{"X-Slack-Signature": {sig}, "X-Slack-Request-Timestamp": {ts}}
	if retry > 0 {
		h.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		h.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	a.mu.Lock()
	a.lastPath, a.lastBody = path, body
	a.mu.Unlock()
	return a.Post(path, body, h)
}

// Redeliver sends the last payload again, as Slack retries it: same body,
// fresh signature, X-Slack-Retry-Num 1.
func (a *App) Redeliver() (*Reply, error) {
	path, body := a.Last()
	return a.Send(path, body, 1)
}

// CommandForm is the form Slack posts for a slash command user ran in
// channel, with a fresh trigger_id and response_url.
func (s *Server) CommandForm(user, channel, command, text string) url.Values {
	return url.Values{
		"team_id": {"T0FAKE"}, "team_domain": {"fake"}, "channel_id": {channel}, "channel_name": {"general"},
		"user_id": {user}, "user_name": {user}, "command": {command}, "text": {text},
		"response_url": {s.newResponseURL(user, channel)}, "trigger_id": {s.NewTrigger(user)}, "api_app_id": {"A0MFADESK"},
	}
}

// Command runs a slash command as user, with a fresh trigger_id and
// response_url.
func (a *App) Command(user, command, text string) (*Reply, error) {
	return a.Send("/slack/commands", []byte(a.s.CommandForm(user, a.Channel, command, text).Encode()), 0)
}

func (a *App) interaction(payload any) (*Reply, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return a.Send("/slack/interactivity", []byte(url.Values{"payload": {string(b)}}.Encode()), 0)
}

// Values are a view's input values for a submission, keyed by block ID and
// action ID.
type Values map[string]map[string]any

// UsersValue is a multi_users_select's state.
func UsersValue(ids ...string) any {
	return map[string]any{"type": "multi_users_select", "selected_users": ids}
}

// OptionValue is a static_select's state.
func OptionValue(value string) any {
	if value == "" {
		return map[string]any{"type": "static_select", "selected_option": nil}
	}
	return map[string]any{"type": "static_select", "selected_option": map[string]any{
		"value": value, "text": map[string]any{"type": "plain_text", "text": value}}}
}

// TextValue is a plain_text_input's state.
func TextValue(v string) any { return map[string]any{"type": "plain_text_input", "value": v} }

// SubmissionPayload is the view_submission payload of view viewID submitted
// by user with values.
func (s *Server) SubmissionPayload(viewID, user string, values Values) (map[string]any, error) {
	v, ok := s.View(viewID)
	if !ok {
		return nil, fmt.Errorf("fakeslack: no open view %s", viewID)
	}
	var view map[string]any
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		return nil, err
	}
	view["id"], view["hash"], view["team_id"] = v.ID, v.Hash, "T0FAKE"
	view["state"] = map[string]any{"values": values}
	return map[string]any{
		"type": "view_submission", "team": map[string]any{"id": "T0FAKE"}, "user": map[string]any{"id": user},
		"api_app_id": "A0MFADESK", "trigger_id": s.NewTrigger(user), "view": view,
	}, nil
}

// ApplyViewAnswer does what Slack does with an app's answer to a view
// submission: an "update" replaces the view, a "clear" closes it, "errors"
// leaves it as it is.
func (s *Server) ApplyViewAnswer(viewID string, answer []byte) error {
	if len(answer) == 0 {
		return nil
	}
	var a struct {
		ResponseAction string          `json:"response_action"`
		View           json.RawMessage `json:"view"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return fmt.Errorf("fakeslack: view submission answer: %w", err)
	}
	switch a.ResponseAction {
	case "update":
		if err := s.UpdateView(viewID, a.View); err != nil {
			return fmt.Errorf("fakeslack: response_action update: %w", err)
		}
	case "clear":
		s.CloseView(viewID)
	}
	return nil
}

// Submit submits view viewID as user with values, as Slack does when the
// submit button is pressed, and applies the app's answer as Slack would.
func (a *App) Submit(viewID, user string, values Values) (*Reply, error) {
	payload, err := a.s.SubmissionPayload(viewID, user, values)
	if err != nil {
		return nil, err
	}
	reply, err := a.interaction(payload)
	if err != nil || reply.Status != http.StatusOK {
		return reply, err
	}
	return reply, a.s.ApplyViewAnswer(viewID, reply.Body)
}

// ClickPayload is the block_actions payload of user pressing button
// (actionID, value) in message ts of channel.
func (s *Server) ClickPayload(user, channel, ts, actionID, value string) map[string]any {
	s.mu.Lock()
	actionTS := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.next())
	s.mu.Unlock()
	return map[string]any{
		"type": "block_actions", "team": map[string]any{"id": "T0FAKE"}, "user": map[string]any{"id": user},
		"api_app_id": "A0MFADESK", "trigger_id": s.NewTrigger(user),
		"container": map[string]any{"type": "message", "channel_id": channel, "message_ts": ts},
		"channel":   map[string]any{"id": channel},
		"message":   map[string]any{"ts": ts},
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "", "value": value, "action_ts": actionTS,
			"text": map[string]any{"type": "plain_text", "text": actionID},
		}},
	}
}

// Click presses a button (actionID, value) in message ts of channel as user.
func (a *App) Click(user, channel, ts, actionID, value string) (*Reply, error) {
	return a.interaction(a.s.ClickPayload(user, channel, ts, actionID, value))
}
