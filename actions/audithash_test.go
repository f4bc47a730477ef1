package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// referenceHashInput is the canonical form as encoding/json writes it: the
// definition appendHashInput must match byte for byte.
func referenceHashInput(t testing.TB, e Event) []byte {
	t.Helper()
	type hashed struct {
		PrevHash  string      `json:"prev_hash"`
		Seq       int64       `json:"seq"`
		Time      string      `json:"time"`
		RequestID string      `json:"request_id"`
		Kind      EventKind   `json:"event"`
		Actor     string      `json:"actor"`
		Action    Action      `json:"action"`
		Targets   []TargetRef `json:"targets"`
		Target    *TargetRef  `json:"target"`
		Method    string      `json:"method,omitempty"`
		Outcome   string      `json:"outcome"`
		Detail    string      `json:"detail"`
	}
	targets := e.Targets
	if len(targets) == 0 {
		targets = nil
	}
	b, err := json.Marshal(hashed{
		PrevHash: e.PrevHash, Seq: e.Seq, Time: e.Time.UTC().Truncate(EventTimePrecision).Format(time.RFC3339Nano),
		RequestID: e.RequestID, Kind: e.Kind, Actor: e.Actor, Action: e.Action,
		Targets: targets, Target: e.Target, Method: e.Method, Outcome: e.Outcome, Detail: e.Detail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHashInputMatchesEncodingJSON(t *testing.T) {
	tests := []Event{
		{},
		{Seq: 1, Time: t0, Kind: EventCreated, Actor: "U1", Action: ResetPassword, Targets: []TargetRef{{"U2", "a@b.c", "id"}, {}}},
		{Seq: 2, Time: t0.Add(123456789), Target: &TargetRef{"U2", "<a&b>@x", "\u2028\u2029"}, Outcome: "ok", Detail: "tab\there \"q\" \\ \x00\x1f\x7f\b\f\n\r"},
		{Seq: 3, Method: "push", Detail: "bad utf-8 \xff\xfe ok é 日本 🙂"},
		{Seq: -4, Targets: []TargetRef{}, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, e := range tests {
		want := string(referenceHashInput(t, e))
		if got := string(appendHashInput(nil, &e)); got != want {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzHashInput(f *testing.F) {
	f.Add("R1", "U1", "detail <&>", "a@b.c", "m", int64(5), int64(1700000000123456))
	f.Add("\xff", "\u2028", "\x00\x1f", "", "", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, req, actor, detail, email, method string, seq, us int64) {
		e := Event{Seq: seq, Time: time.UnixMicro(us), RequestID: req, Kind: EventKind(actor + "k"), Actor: actor,
			Action: Action(detail), Detail: detail, Outcome: req, Method: method, PrevHash: email}
		if seq%2 == 0 {
			e.Targets = []TargetRef{{SlackID: actor, Email: email, DirectoryID: detail}}
			e.Target = &TargetRef{Email: detail}
		}
		if got, want := string(appendHashInput(nil, &e)), string(referenceHashInput(t, e)); got != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// benchEvent is a typical target result, the most common event.
var benchEvent = Event{Seq: 123456, Time: t0, RequestID: "REQ7K2M9Q4", Kind: EventTargetResult, Actor: BotActor, Action: ResetPassword,
	Target:  &TargetRef{SlackID: "U0BOB", Email: "bob@example.com", DirectoryID: "6f1c2a3b-0000-4000-8000-000000000001"},
	Outcome: "ok", Detail: "password reset (request-id 4b2f-99)", PrevHash: "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"}

func BenchmarkComputeHash(b *testing.B) {
	e := benchEvent
	b.ReportAllocs()
	for b.Loop() {
		_ = e.ComputeHash()
	}
}

// BenchmarkHashMatches is the check `audit verify` makes of every event.
func BenchmarkHashMatches(b *testing.B) {
	e := benchEvent
	e.Hash = e.ComputeHash()
	b.ReportAllocs()
	for b.Loop() {
		if !e.HashMatches() {
			b.Fatal("the hash does not match")
		}
	}
}

// BenchmarkComputeHashJSON is ComputeHash as it was, through encoding/json,
// to compare with BenchmarkComputeHash.
func BenchmarkComputeHashJSON(b *testing.B) {
	e := benchEvent
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(referenceHashInput(b, e))
		_ = hex.EncodeToString(sum[:])
	}
}
