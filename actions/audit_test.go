package actions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func chain(n int) []Event {
	var evs []Event
	prevSeq, prevHash := int64(0), ""
	for i := 0; i < n; i++ {
		e := Event{Time: t0.Add(time.Duration(i)*time.Second + 123456789), RequestID: "R1", Kind: EventApproved,
			Actor: "U0AUTH1", Action: ResetPassword, Detail: "approval"}
		if i == 0 {
			e.Kind = EventCreated
			e.Targets = []TargetRef{{SlackID: "U0BOB", Email: "bob@example.com", DirectoryID: "x"}}
		}
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		evs = append(evs, e)
	}
	return evs
}

func verify(evs []Event) error {
	var v ChainVerifier
	for _, e := range evs {
		if err := v.Next(e); err != nil {
			return err
		}
	}
	return nil
}

func TestChainVerify(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func([]Event) []Event
		wantSeq int64 // 0: intact
		reason  string
	}{
		{"intact", func(e []Event) []Event { return e }, 0, ""},
		{"edited detail", func(e []Event) []Event { e[2].Detail = "approved by me"; return e }, 3, "edited"},
		{"edited actor", func(e []Event) []Event { e[0].Actor = "U0EVIL"; return e }, 1, "edited"},
		{"edited target", func(e []Event) []Event { e[0].Targets[0].Email = "eve@example.com"; return e }, 1, "edited"},
		{"edited time", func(e []Event) []Event { e[1].Time = e[1].Time.Add(time.Microsecond); return e }, 2, "edited"},
		{"deleted middle", func(e []Event) []Event { return append(e[:2], e[3:]...) }, 3, "deleted"},
		{"deleted first", func(e []Event) []Event { return e[1:] }, 1, "deleted"},
		{"reordered by renumbering", func(e []Event) []Event {
			e[1], e[2] = e[2], e[1]
			e[1].Seq, e[2].Seq = 2, 3
			return e
		}, 2, "reordered"},
		{"rehashed edit", func(e []Event) []Event {
			e[1].Detail = "forged"
			e[1].Hash = e[1].ComputeHash() // a forger recomputes this hash, but not the next one's prev_hash
			return e
		}, 3, "reordered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify(tt.mutate(chain(5)))
			if tt.wantSeq == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != tt.wantSeq || !strings.Contains(ce.Reason, tt.reason) {
				t.Fatalf("err = %v, want chain error at %d mentioning %q", err, tt.wantSeq, tt.reason)
			}
		})
	}
}

func TestSealTruncatesTime(t *testing.T) {
	e := Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600)), Kind: EventCreated}
	e.Seal(0, "")
	if e.Time.Nanosecond() != 123456000 || e.Time.Location() != time.UTC {
		t.Errorf("time = %v", e.Time)
	}
	if e.Seq != 1 || e.PrevHash != "" || len(e.Hash) != 64 {
		t.Errorf("sealed = %+v", e)
	}
}
