package storage

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
)

// The hand-written decoder must give what encoding/json gives, for every
// input: the audit hash covers the decoded value.
func FuzzDecodeTargets(f *testing.F) {
	for _, s := range []string{
		`null`, `[]`, `{}`,
		`[{"slack_id":"U1","email":"a@x.example","directory_id":"d1"}]`,
		`[{"slack_id":"U1","email":"a@x.example","directory_id":"d1"},{"slack_id":"U2","email":"b@x.example","directory_id":""}]`,
		`{"slack_id":"U1","email":"a\u0026b@x.example","directory_id":"d1"}`,
		`{"Email":"A@x.example"}`, `{"email":"a@x.example","email":"b@x.example"}`,
		`[{"slack_id":"U1"} ]`, `[{"slack_id":1}]`, "{\"email\":\"\xff\"}", "{\"email\":\"a\tb\"}",
		`[{"slack_id":"U1"},]`, `[{"slack_id":"U1"}]x`, `{"email":"a"}}`, `{"extra":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var wantList []actions.TargetRef
		wantListErr := json.Unmarshal([]byte(s), &wantList)
		gotList, err := decodeTargets(s)
		if (err != nil) != (wantListErr != nil) || (err == nil && !reflect.DeepEqual(gotList, wantList)) {
			t.Errorf("decodeTargets(%q) = %#v, %v; encoding/json: %#v, %v", s, gotList, err, wantList, wantListErr)
		}
		want := new(actions.TargetRef)
		wantErr := json.Unmarshal([]byte(s), want)
		got, err := decodeTarget(s)
		if (err != nil) != (wantErr != nil) || (err == nil && *got != *want) {
			t.Errorf("decodeTarget(%q) = %#v, %v; encoding/json: %#v, %v", s, got, err, want, wantErr)
		}
	})
}
