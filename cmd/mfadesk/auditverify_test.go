package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// Read in segments side by side, the log gives exactly the verdict one
// walk gives, wherever the damage is: in a segment, where two meet, or at
// the end.
func TestAuditVerifySegmentsAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sql    []string
		stated bool // ask about the real head with --head
	}{
		{"intact", nil, true},
		{"edited first", []string{`UPDATE audit_events SET detail = 'x' WHERE seq = 1`}, false},
		{"edited at a seam", []string{`UPDATE audit_events SET actor = 'U0EVIL' WHERE seq = 4`}, false},
		{"edited after a seam", []string{`UPDATE audit_events SET actor = 'U0EVIL' WHERE seq = 5`}, false},
		{"edited last", []string{`UPDATE audit_events SET detail = 'x' WHERE seq = 7`}, true},
		{"deleted at a seam", []string{`DELETE FROM audit_events WHERE seq = 4`}, false},
		{"deleted a whole segment", []string{`DELETE FROM audit_events WHERE seq IN (3, 4)`}, false},
		{"reordered across a seam", []string{
			`UPDATE audit_events SET seq = -1 WHERE seq = 3`,
			`UPDATE audit_events SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_events SET seq = 4 WHERE seq = -1`,
		}, false},
		{"relinked at a seam", []string{`UPDATE audit_events SET prev_hash = 'ab' WHERE seq = 5`}, false},
		{"cut tail", []string{`DELETE FROM audit_events WHERE seq >= 6`}, true},
		{"edit and a later deletion", []string{`UPDATE audit_events SET detail = 'x' WHERE seq = 6`, `DELETE FROM audit_events WHERE seq = 2`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
				auditDB(t, db)
				stated := ""
				if tt.stated {
					_, head, err := db.Store.AuditHead(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					stated = head
				}
				storagetest.Tamper(t, db, tt.sql...)
				one, err := verifyAudit(t.Context(), db.Store, stated, verifySplit{parts: 1, least: 1})
				if err != nil {
					t.Fatal(err)
				}
				for _, parts := range []int{2, 3, 7} {
					got, err := verifyAudit(t.Context(), db.Store, stated, verifySplit{parts: parts, least: 1})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(one, got, cmp.AllowUnexported(verifyResult{})); diff != "" {
						t.Errorf("%d segments (-one walk +segments):\n%s", parts, diff)
					}
				}
				if tt.sql != nil && len(one.problems) == 0 {
					t.Errorf("one walk found nothing wrong after %q", tt.sql)
				}
			})
		})
	}
}

func TestVerifySplit(t *testing.T) {
	for _, tc := range []struct {
		split verifySplit
		head  int64
		want  []segment
	}{
		{verifySplit{parts: 2, least: 50_000}, 0, []segment{{0, 0}}},
		{verifySplit{parts: 2, least: 50_000}, 99_999, []segment{{0, 99_999}}},
		{verifySplit{parts: 2, least: 50_000}, 100_000, []segment{{0, 50_000}, {50_000, 100_000}}},
		{verifySplit{parts: 3, least: 1}, 7, []segment{{0, 2}, {2, 4}, {4, 7}}},
		{verifySplit{parts: 0, least: 0}, 7, []segment{{0, 7}}},
	} {
		if got := tc.split.segments(tc.head); !cmp.Equal(got, tc.want, cmp.AllowUnexported(segment{})) {
			t.Errorf("%+v.segments(%d) = %v, want %v", tc.split, tc.head, got, tc.want)
		}
	}
}
