package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestDigestNotMe: the digest counts "This wasn't me" reports and the
// containment requests they started, and lists the reports.
func TestDigestNotMe(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		w := newWorld(t, s)
		pol, err := actions.ParsePolicy("p.yaml", []byte(digestPolicy+"containment: [revoke-mfa-sessions, block-sign-in]\n"))
		if err != nil {
			t.Fatal(err)
		}
		w.create("R1", "U0HELP1", actions.ResetPassword, at(3, 10, 0), "UTGT000", "UTGT001")
		w.approve("R1", "UAPPR00", at(3, 10, 5))
		w.run("R1", at(3, 10, 6), "ok", "ok")
		n := 0
		newID := func() string { n++; return fmt.Sprintf("RC%d", n) }
		report := func(who string, when time.Time) {
			t.Helper()
			_, _, err := s.UpdateCreate(context.Background(), "R1", func(r actions.Request) (actions.Request, []actions.Request, []actions.Event, error) {
				return r.ReportNotMe(pol, person(who), actions.DefaultReportTTL, newID, when)
			})
			if err != nil {
				t.Fatalf("report by %s: %v", who, err)
			}
		}
		report("UTGT000", at(3, 11, 0))
		w.run("RC1", at(3, 11, 1), "ok")
		report("UTGT001", at(10, 9, 0)) // after the period

		week := digest.Period{Start: at(3, 0, 0), End: at(10, 0, 0)}
		got, err := s.DigestFacts(context.Background(), digest.Query{Period: week, Hours: mustHours(t, digest.DefaultBusinessHours), Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if got.Reports != 1 || got.Containments != 2 {
			t.Errorf("reports %d, containments %d; want 1 and 2", got.Reports, got.Containments)
		}
		want := digest.List[digest.NotMe]{Total: 1, Items: []digest.NotMe{{
			RequestID: "R1", Action: actions.ResetPassword, Requester: "U0HELP1", Reporter: "UTGT000",
			Target: actions.TargetRef{SlackID: "UTGT000", Email: "UTGT000@example.com", DirectoryID: "dir-UTGT000"},
			At:     at(3, 11, 0),
			Steps: []digest.ContainStep{
				{RequestID: "RC1", Action: actions.RevokeMFASessions, State: actions.StateSucceeded},
				{RequestID: "RC2", Action: actions.BlockSignIn, State: actions.StateApproved},
			},
		}}}
		if diff := cmp.Diff(want, got.NotMe); diff != "" {
			t.Errorf("reports (-want +got):\n%s", diff)
		}
		if !got.NeedsLook() {
			t.Error("a report does not deserve a look")
		}
	})
}
