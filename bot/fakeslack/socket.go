package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultAppToken is the app-level token apps.connections.open accepts
// unless told otherwise.
const DefaultAppToken = "xapp-fake-token"

// socket is the Socket Mode side: one WebSocket connection at a time.
type socket struct {
	mu        sync.Mutex
	conn      *websocket.Conn
	connected chan struct{} // closed when a connection is up
	acks      map[string]chan json.RawMessage
	seq       int
}

func newSocket() *socket {
	return &socket{connected: make(chan struct{}), acks: map[string]chan json.RawMessage{}}
}

// appsConnectionsOpen hands out the WebSocket URL. It runs with s.mu held.
func (s *Server) appsConnectionsOpen(map[string]string) (obj, string) {
	return obj{"url": "ws" + strings.TrimPrefix(s.URL, "http") + "/socket"}, ""
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sk := s.sock
	sk.mu.Lock()
	if sk.conn != nil {
		_ = sk.conn.Close()
	}
	sk.conn = conn
	err = conn.WriteJSON(obj{"type": "hello", "num_connections": 1,
		"connection_info": obj{"app_id": "A0MFADESK"}, "debug_info": obj{"host": "fakeslack"}})
	select {
	case <-sk.connected:
	default:
		close(sk.connected)
	}
	sk.mu.Unlock()
	if err != nil {
		return
	}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(msg, &ack) != nil {
			continue
		}
		sk.mu.Lock()
		ch := sk.acks[ack.EnvelopeID]
		sk.mu.Unlock()
		if ch != nil {
			select {
			case ch <- ack.Payload:
			default:
			}
		}
	}
}

// SocketSend delivers an envelope of kind ("slash_commands", "interactive")
// over the Socket Mode connection and waits up to timeout for its
// acknowledgement, whose payload it returns. An empty envelopeID gets a
// fresh one; pass an earlier one with retry > 0 for a redelivery.
func (s *Server) SocketSend(envelopeID, kind string, payload any, retry int, timeout time.Duration) (json.RawMessage, error) {
	sk := s.sock
	select {
	case <-sk.connected:
	case <-time.After(timeout):
		return nil, errors.New("fakeslack: no Socket Mode connection")
	}
	ch := make(chan json.RawMessage, 1)
	sk.mu.Lock()
	if envelopeID == "" {
		sk.seq++
		envelopeID = fmt.Sprintf("env-%d", sk.seq)
	}
	sk.acks[envelopeID] = ch
	err := sk.conn.WriteJSON(obj{"envelope_id": envelopeID, "type": kind, "payload": payload,
		"accepts_response_payload": true, "retry_attempt": retry, "retry_reason": ""})
	sk.mu.Unlock()
	defer func() {
		sk.mu.Lock()
		delete(sk.acks, envelopeID)
		sk.mu.Unlock()
	}()
	if err != nil {
		return nil, err
	}
	select {
	case p := <-ch:
		return p, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("fakeslack: envelope %s not acknowledged within %s", envelopeID, timeout)
	}
}

// SocketCommand is CommandForm as a Socket Mode payload.
func SocketCommand(form url.Values) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		out[k] = v[0]
	}
	return out
}
