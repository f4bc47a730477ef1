package actions

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The canonical form an event's hash covers is the JSON that encoding/json
// gives for this struct (field order fixed, HTML characters escaped,
// invalid UTF-8 replaced by U+FFFD):
//
//	struct {
//		PrevHash  string      `json:"prev_hash"`
//		Seq       int64       `json:"seq"`
//		Time      string      `json:"time"` // RFC 3339, UTC, to the microsecond
//		RequestID string      `json:"request_id"`
//		Kind      EventKind   `json:"event"`
//		Actor     string      `json:"actor"`
//		Action    Action      `json:"action"`
//		Targets   []TargetRef `json:"targets"` // null when there are none
//		Target    *TargetRef  `json:"target"`
//		Method    string      `json:"method,omitempty"` // left out when empty, so older events keep their hashes
//		Outcome   string      `json:"outcome"`
//		Detail    string      `json:"detail"`
//	}
//
// appendHashInput writes exactly those bytes without reflection, because
// `mfadesk audit verify` hashes every event of the log; a test holds it to
// encoding/json's output, fuzzed.

var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendHashInput appends the canonical JSON of e that its hash covers.
func appendHashInput(b []byte, e *Event) []byte {
	b = append(b, `{"prev_hash":`...)
	b = appendJSONString(b, e.PrevHash)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().Truncate(EventTimePrecision).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":`...)
	b = appendJSONString(b, e.RequestID)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, string(e.Kind))
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, e.Actor)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, string(e.Action))
	b = append(b, `,"targets":`...)
	if len(e.Targets) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range e.Targets {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTargetRef(b, &e.Targets[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"target":`...)
	if e.Target == nil {
		b = append(b, "null"...)
	} else {
		b = appendTargetRef(b, e.Target)
	}
	if e.Method != "" {
		b = append(b, `,"method":`...)
		b = appendJSONString(b, e.Method)
	}
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, e.Outcome)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, e.Detail)
	return append(b, '}')
}

func appendTargetRef(b []byte, t *TargetRef) []byte {
	b = append(b, `{"slack_id":`...)
	b = appendJSONString(b, t.SlackID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, t.Email)
	b = append(b, `,"directory_id":`...)
	b = appendJSONString(b, t.DirectoryID)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the ASCII bytes a JSON string holds as they are.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping on: quotes, backslashes and control characters escaped, '<',
// '>' and '&' as \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, and
// each invalid UTF-8 byte as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
