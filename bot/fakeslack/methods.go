package fakeslack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type handler func(a map[string]string) (obj, string)

// methods are the Web API methods the fake answers. Each runs with s.mu
// held and returns the response fields, or an error code.
func (s *Server) methods() map[string]handler {
	return map[string]handler{
		"auth.test":                    s.authTest,
		"apps.connections.open":        s.appsConnectionsOpen,
		"users.info":                   s.usersInfo,
		"users.lookupByEmail":          s.documented("users.lookupByEmail", s.usersLookupByEmail),
		"conversations.open":           s.conversationsOpen,
		"conversations.info":           s.documented("conversations.info", s.conversationsInfo),
		"chat.postMessage":             s.postMessage,
		"chat.update":                  s.chatUpdate,
		"chat.postEphemeral":           s.postEphemeral,
		"views.open":                   s.viewsOpen,
		"views.push":                   s.viewsOpen,
		"views.update":                 s.viewsUpdate,
		"files.getUploadURLExternal":   s.getUploadURL,
		"files.completeUploadExternal": s.completeUpload,
	}
}

// conversationsInfo answers for channels the bot is in (is_member true) and
// public channels it is not in (is_member false); any other channel, like a
// private one the bot is not in, is not found.
func (s *Server) conversationsInfo(a map[string]string) (obj, string) {
	id := a["channel"]
	member := s.channels[id]
	if !member && !s.outside[id] {
		return nil, "channel_not_found"
	}
	return obj{"channel": obj{"id": id, "name": strings.ToLower(id), "is_channel": true, "is_private": false,
		"is_archived": false, "is_member": member}}, ""
}

func (s *Server) authTest(map[string]string) (obj, string) {
	return obj{"url": "https://fake.slack.test/", "team": "Fake", "user": "mfadesk",
		"team_id": "T0FAKE", "user_id": "U0MFADESK", "bot_id": "B0MFADESK"}, ""
}

func (s *Server) usersInfo(a map[string]string) (obj, string) {
	u, ok := s.users[a["user"]]
	if !ok {
		return nil, "user_not_found"
	}
	return obj{"user": userJSON(u)}, ""
}

func (s *Server) conversationsOpen(a map[string]string) (obj, string) {
	us := params(a["users"])
	if len(us) != 1 {
		return nil, "invalid_arguments"
	}
	u, ok := s.users[us[0]]
	switch {
	case !ok:
		return nil, "user_not_found"
	case u.Deleted:
		return nil, "user_disabled"
	}
	ch, ok := s.ims[u.ID]
	if !ok {
		ch = "D" + u.ID
		s.ims[u.ID] = ch
	}
	return obj{"channel": obj{"id": ch, "is_im": true}, "already_open": ok}, ""
}

// channelOK reports whether the bot may post in channel.
func (s *Server) channelOK(channel string) bool {
	if s.channels[channel] {
		return true
	}
	for _, im := range s.ims {
		if im == channel {
			return true
		}
	}
	return false
}

// messageArgs checks text and blocks as Slack does.
func messageArgs(a map[string]string) (json.RawMessage, string) {
	blocks := json.RawMessage(a["blocks"])
	if len(blocks) == 0 {
		if a["text"] == "" {
			return nil, "no_text"
		}
		return nil, ""
	}
	if code := checkBlocks(blocks, 50, false); code != "" {
		return nil, code
	}
	return plainJSON(blocks), ""
}

// plainJSON re-encodes raw without HTML escapes, so that tests can look
// for "<@U123>" in what the app sent.
func plainJSON(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return raw
	}
	return json.RawMessage(strings.TrimSuffix(b.String(), "\n"))
}

func (s *Server) postMessage(a map[string]string) (obj, string) {
	if s.outside[a["channel"]] {
		return nil, "not_in_channel"
	}
	if !s.channelOK(a["channel"]) {
		return nil, "channel_not_found"
	}
	blocks, code := messageArgs(a)
	if code != "" {
		return nil, code
	}
	ts := fmt.Sprintf("1700000000.%06d", s.next())
	s.messages = append(s.messages, &Message{Channel: a["channel"], TS: ts, Text: a["text"], Blocks: blocks})
	return obj{"channel": a["channel"], "ts": ts, "message": obj{"text": a["text"], "ts": ts}}, ""
}

func (s *Server) chatUpdate(a map[string]string) (obj, string) {
	if !s.channelOK(a["channel"]) {
		return nil, "channel_not_found"
	}
	blocks, code := messageArgs(a)
	if code != "" {
		return nil, code
	}
	for _, m := range s.messages {
		if m.Channel == a["channel"] && m.TS == a["ts"] {
			m.Text, m.Blocks = a["text"], blocks
			m.Updates++
			return obj{"channel": m.Channel, "ts": m.TS, "text": m.Text}, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) postEphemeral(a map[string]string) (obj, string) {
	if !s.channelOK(a["channel"]) {
		return nil, "channel_not_found"
	}
	if _, ok := s.users[a["user"]]; !ok {
		return nil, "user_not_found"
	}
	blocks, code := messageArgs(a)
	if code != "" {
		return nil, code
	}
	ts := fmt.Sprintf("1700000000.%06d", s.next())
	s.ephemerals = append(s.ephemerals, Message{Channel: a["channel"], TS: ts, Text: a["text"], Blocks: blocks, User: a["user"]})
	return obj{"message_ts": ts}, ""
}

// viewArg reads and checks a view object.
func viewArg(a map[string]string) (map[string]json.RawMessage, string) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a["view"]), &v); err != nil {
		return nil, "invalid_arguments"
	}
	if code := checkView(v); code != "" {
		return nil, code
	}
	return v, ""
}

func (s *Server) viewsOpen(a map[string]string) (obj, string) {
	t, ok := s.triggers[a["trigger_id"]]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	case time.Since(t.issued) > s.triggerTTL.Get():
		return nil, "expired_trigger_id"
	}
	v, code := viewArg(a)
	if code != "" {
		return nil, code
	}
	t.used = true
	view := &View{ID: fmt.Sprintf("V%08d", s.next()), User: t.user}
	s.setView(view, v)
	s.views[view.ID] = view
	return obj{"view": s.viewJSON(view)}, ""
}

func (s *Server) viewsUpdate(a map[string]string) (obj, string) {
	view, ok := s.views[a["view_id"]]
	for _, v := range s.views {
		if !ok && a["external_id"] != "" && externalID(v.JSON) == a["external_id"] {
			view, ok = v, true
		}
	}
	if !ok {
		return nil, "not_found"
	}
	if h := a["hash"]; h != "" && h != view.Hash {
		return nil, "hash_conflict"
	}
	v, code := viewArg(a)
	if code != "" {
		return nil, code
	}
	s.setView(view, v)
	return obj{"view": s.viewJSON(view)}, ""
}

// UpdateView replaces a view as a response_action "update" answer does.
func (s *Server) UpdateView(id string, view json.RawMessage) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(view, &v); err != nil {
		return err
	}
	if code := checkView(v); code != "" {
		return fmt.Errorf("invalid view: %s", code)
	}
	s.mu.Lock()
	cur, ok := s.views[id]
	if ok {
		s.setView(cur, v)
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("no view %s", id)
	}
	s.changed()
	return nil
}

// CloseView forgets a view, as when the person closes the modal.
func (s *Server) CloseView(id string) {
	s.mu.Lock()
	delete(s.views, id)
	s.mu.Unlock()
	s.changed()
}

func externalID(v json.RawMessage) string {
	var x struct {
		ExternalID string `json:"external_id"`
	}
	_ = json.Unmarshal(v, &x)
	return x.ExternalID
}

// setView stores v as the content of view, with a new hash.
func (s *Server) setView(view *View, v map[string]json.RawMessage) {
	raw, _ := json.Marshal(v)
	view.JSON = plainJSON(raw)
	view.Hash = fmt.Sprintf("%d.h%d", time.Now().Unix(), s.next())
	var str string
	view.CallbackID, view.PrivateMetadata = "", ""
	if json.Unmarshal(v["callback_id"], &str) == nil {
		view.CallbackID = str
	}
	if json.Unmarshal(v["private_metadata"], &str) == nil {
		view.PrivateMetadata = str
	}
}

func (s *Server) viewJSON(view *View) obj {
	var v obj
	_ = json.Unmarshal(view.JSON, &v)
	v["id"], v["hash"], v["team_id"], v["app_id"] = view.ID, view.Hash, "T0FAKE", "A0MFADESK"
	return v
}

func (s *Server) getUploadURL(a map[string]string) (obj, string) {
	n, err := strconv.Atoi(a["length"])
	if a["filename"] == "" || err != nil || n <= 0 {
		return nil, "invalid_arguments"
	}
	id := fmt.Sprintf("F%08d", s.next())
	s.files[id] = &File{ID: id, Name: a["filename"]}
	return obj{"upload_url": s.URL + "/upload/" + id, "file_id": id}, ""
}

func (s *Server) completeUpload(a map[string]string) (obj, string) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(a["files"]), &files); err != nil || len(files) == 0 {
		return nil, "invalid_arguments"
	}
	channel := a["channel_id"]
	if channel == "" {
		channel = a["channels"]
	}
	if channel != "" && !s.channelOK(channel) {
		return nil, "channel_not_found"
	}
	var out []obj
	for _, f := range files {
		file, ok := s.files[f.ID]
		if !ok || file.Content == nil {
			return nil, "file_not_found"
		}
		file.Title, file.Channel, file.Completed = f.Title, channel, true
		out = append(out, obj{"id": f.ID, "title": f.Title})
	}
	return obj{"files": out}, ""
}
