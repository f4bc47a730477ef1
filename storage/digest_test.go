package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// digestPolicy lets U0HELP1/2 request and UAPPR0x approve reset-password and
// delete-app-passwords; privileged targets need global-admin (UGLOB1/2).
const digestPolicy = `
roles:
  helpdesk: [U0HELP1, U0HELP2]
  authentication-admin: [UAPPR00, UAPPR01, UAPPR02, UAPPR03]
  global-admin: [UGLOB1, UGLOB2]
actions:
  reset-password:       {request: [helpdesk, global-admin], approve: [authentication-admin, global-admin]}
  delete-app-passwords: {request: [helpdesk], approve: [authentication-admin]}
approval:
  approvals: 1
  ttl: 1h
privileged:
  roles: [global-admin]
`

// world builds requests with the actions transitions at chosen times.
type world struct {
	t   testing.TB
	s   *storage.Store
	pol *actions.Policy
}

func newWorld(t testing.TB, s *storage.Store) *world {
	t.Helper()
	pol, err := actions.ParsePolicy("digest-policy.yaml", []byte(digestPolicy))
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	return &world{t: t, s: s, pol: pol}
}

func person(id string) actions.Person {
	return actions.Person{SlackID: id, Email: fmt.Sprintf("%s@example.com", id)}
}

// at is a time in March 2025, UTC.
func at(day, hour, minute int) time.Time {
	return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC)
}

// create makes request id of action by requester on targets ("!" before an
// ID marks a privileged target).
func (w *world) create(id string, requester string, action actions.Action, when time.Time, targets ...string) {
	w.t.Helper()
	d := actions.Draft{Requester: person(requester), Action: action, Reason: "reason of " + id, Ticket: "INC-" + id}
	support := actions.Automated
	if action == actions.DeleteAppPasswords {
		support = actions.Manual
	}
	var ts []actions.Target
	for _, tg := range targets {
		priv := tg[0] == '!'
		if priv {
			tg = tg[1:]
		}
		p := person(tg)
		d.Targets = append(d.Targets, p)
		ts = append(ts, actions.Target{SlackID: p.SlackID, Email: p.Email, DirectoryID: "dir-" + tg, Privileged: priv})
	}
	r, events, err := actions.NewRequest(d, ts, support, w.pol, id, when)
	if err != nil {
		w.t.Fatalf("new request %s: %v", id, err)
	}
	if err := w.s.CreateRequest(context.Background(), r, events); err != nil {
		w.t.Fatalf("create request %s: %v", id, err)
	}
}

func (w *world) update(id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) {
	w.t.Helper()
	if _, err := w.s.Update(context.Background(), id, fn); err != nil {
		w.t.Fatalf("update %s: %v", id, err)
	}
}

func (w *world) approve(id, by string, when time.Time) {
	w.t.Helper()
	w.update(id, func(r actions.Request) (actions.Request, []actions.Event, error) {
		return r.Approve(w.pol, person(by), when)
	})
}

// run starts an approved request and records outcomes (a detail after
// "failed:" gives the reason), then completes it.
func (w *world) run(id string, when time.Time, outcomes ...string) {
	w.t.Helper()
	w.update(id, func(r actions.Request) (actions.Request, []actions.Event, error) {
		r, events, err := r.Start(when)
		if err != nil {
			return r, nil, err
		}
		for i, o := range outcomes {
			res := actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "done"}
			if len(o) > 7 && o[:7] == "failed:" {
				res = actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: o[7:]}
			}
			var evs []actions.Event
			if r, evs, err = r.RecordResult(i, res, when); err != nil {
				return r, nil, err
			}
			events = append(events, evs...)
		}
		r, evs, err := r.Complete(when)
		return r, append(events, evs...), err
	})
}

// scenario fills the week of 3–10 March 2025 (Monday to Monday) with
// requests whose digest is known; see TestDigestFacts.
func (w *world) scenario() {
	w.t.Helper()
	rp, dap := actions.ResetPassword, actions.DeleteAppPasswords
	// R0: made before the week, approved at its very first microsecond.
	w.create("R0", "U0HELP2", rp, at(2, 23, 30), "UTGT009")
	w.approve("R0", "UAPPR01", at(3, 0, 0))
	w.run("R0", at(3, 0, 1), "ok")
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("R%d", i)
		day := 2 + i // Monday to Friday
		w.create(id, "U0HELP1", rp, at(day, 10, 0), "UTGT000", fmt.Sprintf("UTGT10%d", i))
		w.approve(id, "UAPPR00", at(day, 10, 5))
		if i == 1 {
			w.run(id, at(day, 10, 6), "ok", "failed:graph: 503 service unavailable")
		} else {
			w.run(id, at(day, 10, 6), "ok", "ok")
		}
		switch i {
		case 2: // Tuesday: a privileged request with 12 targets, denied.
			targets := []string{"!UTGT300"}
			for j := 1; j < 12; j++ {
				targets = append(targets, fmt.Sprintf("UTGT3%02d", j))
			}
			w.create("R7", "UGLOB1", rp, at(4, 12, 0), targets...)
			w.update("R7", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Deny(w.pol, person("UGLOB2"), "no ticket", at(4, 12, 30))
			})
		case 3: // Wednesday evening: made out of hours, expires.
			w.create("R8", "U0HELP1", rp, at(5, 19, 0), "UTGT400")
			w.update("R8", func(r actions.Request) (actions.Request, []actions.Event, error) { return r.Expire(at(5, 20, 1)) })
		case 4: // Thursday: a refused click, then cancelled.
			w.create("R9", "U0HELP2", rp, at(6, 9, 0), "UTGT500")
			err := w.s.AppendEvents(context.Background(), actions.Event{Time: at(6, 9, 5), RequestID: "R9",
				Kind: actions.EventRefused, Actor: "UAPPR09", Action: rp, Detail: "to approve reset-password you need a role"})
			if err != nil {
				w.t.Fatal(err)
			}
			w.update("R9", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Cancel(person("U0HELP2"), at(6, 9, 10))
			})
		}
	}
	// Saturday night: a manual step, made and approved out of hours, open.
	w.create("R6", "U0HELP2", dap, at(8, 2, 0), "UTGT200")
	w.approve("R6", "UAPPR01", at(8, 2, 50))
	// At the week's end exactly: the next week's.
	w.create("R10", "U0HELP1", rp, at(10, 0, 0), "UTGT000")
}

var week = digest.Period{Start: at(3, 0, 0), End: at(10, 0, 0)}

func mustHours(t testing.TB, s string) digest.BusinessHours {
	t.Helper()
	h, err := digest.ParseBusinessHours(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDigestFacts computes the digest of a hand-built week on both
// databases and compares every fact with what the scenario implies.
func TestDigestFacts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		w := newWorld(t, s)
		w.scenario()
		events := allEvents(t, s)
		var inWeek int
		var head digest.Head
		for _, e := range events {
			if week.Contains(e.Time) {
				inWeek++
			}
			if e.Time.Before(week.End) {
				head = digest.Head{Seq: e.Seq, Hash: e.Hash}
			}
		}
		hours := mustHours(t, digest.DefaultBusinessHours)
		got, err := s.DigestFacts(context.Background(), digest.Query{Period: week, Hours: hours, Limit: 3, ManyTargets: 10, RepeatedTarget: 3})
		if err != nil {
			t.Fatal(err)
		}
		rp, dap := actions.ResetPassword, actions.DeleteAppPasswords
		want := digest.Digest{
			Period: week, Hours: hours, Location: time.UTC, Head: head, Events: inWeek,
			Actions: []digest.ActionCount{
				{Action: rp, Requested: 8, Succeeded: 5, PartiallyFailed: 1, Denied: 1, Expired: 1, Cancelled: 1,
					Approvals: 6, Refused: 1, TargetsOK: 10, TargetsFailed: 1},
				{Action: dap, Requested: 1, Approvals: 1},
			},
			Requesters: digest.List[digest.PersonCount]{Total: 3, Items: []digest.PersonCount{
				{SlackID: "U0HELP1", Count: 6}, {SlackID: "U0HELP2", Count: 2}, {SlackID: "UGLOB1", Count: 1}}},
			Approvers: digest.List[digest.ApproverCount]{Total: 3, Items: []digest.ApproverCount{
				{SlackID: "UAPPR00", Approved: 5}, {SlackID: "UAPPR01", Approved: 2}, {SlackID: "UGLOB2", Denied: 1}}},
			Closed: digest.List[digest.Closed]{Total: 3, Items: []digest.Closed{
				{RequestID: "R9", Action: rp, State: actions.StateCancelled, Requester: "U0HELP2", By: "U0HELP2", Reason: "reason of R9", At: at(6, 9, 10)},
				{RequestID: "R8", Action: rp, State: actions.StateExpired, Requester: "U0HELP1", Reason: "reason of R8",
					Note: "0 of 1 approvals after 1h0m0s", At: at(5, 20, 1)},
				{RequestID: "R7", Action: rp, State: actions.StateDenied, Requester: "UGLOB1", By: "UGLOB2", Reason: "reason of R7",
					Note: "no ticket", At: at(4, 12, 30)},
			}},
			Failures: digest.List[digest.Failure]{Total: 1, Items: []digest.Failure{{RequestID: "R1", Action: rp,
				Target: actions.TargetRef{SlackID: "UTGT101", Email: "UTGT101@example.com", DirectoryID: "dir-UTGT101"},
				Detail: "graph: 503 service unavailable", At: at(3, 10, 6)}}},
			Refused: digest.List[digest.Refusal]{Total: 1, Items: []digest.Refusal{{RequestID: "R9", Action: rp, Actor: "UAPPR09",
				Detail: "to approve reset-password you need a role", At: at(6, 9, 5)}}},
			Approvals: 7,
			Pairs:     []digest.Pair{{Requester: "U0HELP1", Approver: "UAPPR00", Count: 5}, {Requester: "U0HELP2", Approver: "UAPPR01", Count: 2}},
			OffHours: digest.List[digest.Activity]{Total: 4, Items: []digest.Activity{
				{RequestID: "R6", Kind: actions.EventApproved, Actor: "UAPPR01", Action: dap, At: at(8, 2, 50)},
				{RequestID: "R6", Kind: actions.EventCreated, Actor: "U0HELP2", Action: dap, At: at(8, 2, 0)},
				{RequestID: "R8", Kind: actions.EventCreated, Actor: "U0HELP1", Action: rp, At: at(5, 19, 0)},
			}},
			Privileged: digest.List[digest.Flagged]{Total: 1, Items: []digest.Flagged{{RequestID: "R7", Action: rp, Requester: "UGLOB1",
				State: actions.StateDenied, Targets: 1, CreatedAt: at(4, 12, 0), Privileged: true}}},
			ManyTargets: digest.List[digest.Flagged]{Total: 1, Items: []digest.Flagged{{RequestID: "R7", Action: rp, Requester: "UGLOB1",
				State: actions.StateDenied, Targets: 12, CreatedAt: at(4, 12, 0), Privileged: true}}},
			Repeated: digest.List[digest.Repeated]{Total: 1, Items: []digest.Repeated{{SlackID: "UTGT000", Email: "UTGT000@example.com", Requests: 5}}},
			OpenManual: digest.List[digest.OpenManual]{Total: 1, Items: []digest.OpenManual{{RequestID: "R6", Action: dap, Requester: "U0HELP2",
				CreatedAt: at(8, 2, 0), Since: at(8, 2, 50)}}},
			Daily: []digest.DayCount{
				{Day: at(3, 0, 0), Action: rp, Count: 1}, {Day: at(4, 0, 0), Action: rp, Count: 2},
				{Day: at(5, 0, 0), Action: rp, Count: 2}, {Day: at(6, 0, 0), Action: rp, Count: 2},
				{Day: at(7, 0, 0), Action: rp, Count: 1}, {Day: at(8, 0, 0), Action: dap, Count: 1},
			},
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(digest.BusinessHours{}), cmp.Comparer(func(a, b *time.Location) bool {
			return a.String() == b.String()
		})); diff != "" {
			t.Errorf("digest facts (-want +got):\n%s", diff)
		}

		// The rules then flag the pair that gave 5 of the 7 approvals.
		digest.Rules{}.Assess(&got)
		if diff := cmp.Diff([]digest.Pair{{Requester: "U0HELP1", Approver: "UAPPR00", Count: 5}}, got.Dominant); diff != "" {
			t.Errorf("dominant pairs (-want +got):\n%s", diff)
		}

		// An empty period has nothing but the head, and the manual step
		// still open.
		empty := digest.Period{Start: at(20, 0, 0), End: at(21, 0, 0)}
		got, err = s.DigestFacts(context.Background(), digest.Query{Period: empty, Hours: hours, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if got.Events != 0 || len(got.Actions) != 0 || got.Head != (digest.Head{Seq: last.Seq, Hash: last.Hash}) ||
			got.OpenManual.Total != 1 || got.OffHours.Total != 0 || len(got.Daily) != 0 {
			t.Errorf("empty period: %+v", got)
		}
	})
}

// TestDigestHoursAndDays checks the SQL's business hours and days against
// BusinessHours.Contains and time.In, on random times over a change to
// summer time, in a zone whose days do not begin at UTC midnight.
func TestDigestHoursAndDays(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		hours := mustHours(t, "Europe/Berlin 08:30-17:00 Sun-Thu")
		loc := hours.Loc()
		p := digest.Period{Start: time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 4, 6, 0, 0, 0, 0, time.UTC)}
		rng := rand.New(rand.NewPCG(1, 2))
		var events []actions.Event
		wantOff := 0
		wantDays := map[time.Time]int{}
		for i := range 400 {
			tm := p.Start.Add(time.Duration(rng.Int64N(int64(p.End.Sub(p.Start)))))
			if i < 4 { // the edges of the day and of the zone change
				tm = []time.Time{
					time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC), time.Date(2025, 3, 30, 0, 59, 59, 999999000, time.UTC),
					time.Date(2025, 3, 27, 7, 30, 0, 0, time.UTC), time.Date(2025, 3, 27, 15, 0, 0, 0, time.UTC),
				}[i]
			}
			tm = tm.Truncate(time.Microsecond)
			events = append(events, actions.Event{Time: tm, RequestID: fmt.Sprintf("X%d", i), Kind: actions.EventCreated,
				Actor: "U0HELP1", Action: actions.ResetPassword})
			if !hours.Contains(tm) {
				wantOff++
			}
			l := tm.In(loc)
			wantDays[time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)]++
		}
		// The chain wants them in order of time, as the bot appends them.
		slicesSortByTime(events)
		if err := s.AppendEvents(context.Background(), events...); err != nil {
			t.Fatal(err)
		}
		got, err := s.DigestFacts(context.Background(), digest.Query{Period: p, Hours: hours, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if got.OffHours.Total != wantOff {
			t.Errorf("off hours: %d events, want %d", got.OffHours.Total, wantOff)
		}
		for _, a := range got.OffHours.Items {
			if hours.Contains(a.At) {
				t.Errorf("%s listed out of hours; it is in %s", a.At.In(loc), hours)
			}
		}
		gotDays := map[time.Time]int{}
		for _, dc := range got.Daily {
			gotDays[dc.Day] += dc.Count
		}
		if diff := cmp.Diff(wantDays, gotDays); diff != "" {
			t.Errorf("requests per day (-want +got):\n%s", diff)
		}
	})
}

func slicesSortByTime(events []actions.Event) {
	for i := 1; i < len(events); i++ {
		for j := i; j > 0 && events[j].Time.Before(events[j-1].Time); j-- {
			events[j], events[j-1] = events[j-1], events[j]
		}
	}
}

// TestDigestLedger walks a period through the claim protocol.
func TestDigestLedger(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		end := at(10, 9, 0)
		fallback := at(3, 9, 0)
		now := at(10, 9, 0)
		claim := func(owner string, now time.Time) (digest.Record, error) {
			return s.ClaimDigest(ctx, digest.Claim{End: end, FallbackStart: fallback, Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute)})
		}
		rec, err := claim("a", now)
		if err != nil {
			t.Fatal(err)
		}
		want := digest.Record{Period: digest.Period{Start: fallback, End: end}, Status: digest.StatusPending, Owner: "a",
			LeaseUntil: now.Add(time.Minute), Attempts: 1}
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("first claim (-want +got):\n%s", diff)
		}
		if _, err := claim("b", now.Add(30*time.Second)); !errors.Is(err, digest.ErrBusy) {
			t.Errorf("claim while leased: %v, want ErrBusy", err)
		}
		// a stalls past its lease; b takes over.
		rec, err = claim("b", now.Add(2*time.Minute))
		if err != nil || rec.Owner != "b" || rec.Attempts != 2 || rec.Period.Start != fallback {
			t.Fatalf("claim after the lease lapsed: %+v, %v", rec, err)
		}
		if err := s.DigestPosting(ctx, end, "a", now.Add(3*time.Minute)); !errors.Is(err, digest.ErrLeaseLost) {
			t.Errorf("a marks posting after losing the lease: %v, want ErrLeaseLost", err)
		}
		// b fails; the period waits for its retry time.
		if err := s.DigestFailed(ctx, end, "b", "slack: channel_not_found", now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if due, err := s.DueDigests(ctx, now.Add(5*time.Minute), 10); err != nil || len(due) != 0 {
			t.Errorf("due before the retry time: %v, %v", due, err)
		}
		if _, err := claim("a", now.Add(5*time.Minute)); !errors.Is(err, digest.ErrBusy) {
			t.Errorf("claim before the retry time: %v, want ErrBusy", err)
		}
		due, err := s.DueDigests(ctx, now.Add(11*time.Minute), 10)
		if err != nil || len(due) != 1 || !due[0].Equal(end) {
			t.Errorf("due after the retry time: %v, %v", due, err)
		}
		rec, err = claim("a", now.Add(11*time.Minute))
		if err != nil || rec.Attempts != 3 || rec.Error != "slack: channel_not_found" {
			t.Fatalf("retry claim: %+v, %v", rec, err)
		}
		if err := s.DigestPosting(ctx, end, "a", now.Add(13*time.Minute)); err != nil {
			t.Fatal(err)
		}
		posted := digest.Posted{Channel: "C0AUDIT", TS: "1741597200.000100", Head: digest.Head{Seq: 7, Hash: "abc"}, At: now.Add(12 * time.Minute)}
		if err := s.DigestPosted(ctx, end, "b", posted); !errors.Is(err, digest.ErrLeaseLost) {
			t.Errorf("b records a post it does not hold: %v", err)
		}
		if err := s.DigestPosted(ctx, end, "a", posted); err != nil {
			t.Fatal(err)
		}
		rec, err = claim("b", now.Add(time.Hour))
		if !errors.Is(err, digest.ErrPosted) || rec.TS != posted.TS || rec.Head != posted.Head || rec.Status != digest.StatusPosted {
			t.Errorf("claim of a posted period: %+v, %v; want ErrPosted", rec, err)
		}
		if err := s.DigestFailed(ctx, end, "a", "late", now); !errors.Is(err, digest.ErrLeaseLost) {
			t.Errorf("failing a posted period: %v, want ErrLeaseLost", err)
		}

		// The next period starts where this one ended; an earlier one is
		// superseded.
		next, err := s.ClaimDigest(ctx, digest.Claim{End: at(17, 9, 0), FallbackStart: fallback, Owner: "a", Now: now, LeaseUntil: now})
		if err != nil || next.Period.Start != end {
			t.Errorf("next period: %+v, %v", next, err)
		}
		if _, err := s.ClaimDigest(ctx, digest.Claim{End: at(12, 9, 0), FallbackStart: fallback, Owner: "a", Now: now, LeaseUntil: now}); !errors.Is(err, digest.ErrSuperseded) {
			t.Errorf("claim of a period before the latest: %v, want ErrSuperseded", err)
		}
		latest, ok, err := s.LatestDigest(ctx, at(31, 0, 0))
		if err != nil || !ok || !latest.Period.End.Equal(at(17, 9, 0)) {
			t.Errorf("latest digest: %+v %v %v", latest, ok, err)
		}
		if _, ok, err := s.LatestDigest(ctx, at(1, 0, 0)); ok || err != nil {
			t.Errorf("latest digest before any: %v %v", ok, err)
		}
		list, err := s.Digests(ctx, 10)
		if err != nil || len(list) != 2 {
			t.Errorf("digests: %+v, %v", list, err)
		}
	})
}

// TestDigestClaimRace has many Stores, as many replicas, claim one period at
// once: exactly one gets it.
func TestDigestClaimRace(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		const replicas = 8
		var wg sync.WaitGroup
		wins := make(chan string, replicas)
		now := at(10, 9, 0)
		for i := range replicas {
			st := db.Store
			if i > 0 {
				st = db.Open(t)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("replica-%d", i)
				_, err := st.ClaimDigest(context.Background(), digest.Claim{End: now, FallbackStart: at(3, 9, 0), Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute)})
				switch {
				case err == nil:
					wins <- owner
				case !errors.Is(err, digest.ErrBusy):
					t.Errorf("%s: %v", owner, err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []string
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 {
			t.Errorf("claims won: %v, want exactly one", won)
		}
	})
}

// BenchmarkDigest1M computes digests over an audit log of 1,000,000 events
// (about 180,000 requests over a year) on PostgreSQL: for the last week, as
// the weekly schedule does, and for the whole year, the worst case. The
// seeding, with generate_series in a fresh schema, happens only here and is
// not timed. Run it with
//
//	MFADESK_TEST_POSTGRES_DSN=postgres://… go test -run '^$' -bench Digest1M ./storage/
func BenchmarkDigest1M(b *testing.B) {
	if os.Getenv(storagetest.EnvPostgresDSN) == "" {
		b.Skipf("%s not set: the 1M-event digest benchmark needs PostgreSQL", storagetest.EnvPostgresDSN)
	}
	db := storagetest.New(b, storage.DialectPostgres)
	start := time.Now()
	year := seedMillion(b, db.URL)
	b.Logf("seeded 1,000,000 audit events in %s", time.Since(start).Round(time.Millisecond))
	hours := mustHours(b, digest.DefaultBusinessHours)
	q := func(p digest.Period) digest.Query {
		return digest.Rules{}.Query(p, hours)
	}
	for _, c := range []struct {
		name string
		p    digest.Period
	}{
		{"week", digest.Period{Start: year.End.Add(-7 * 24 * time.Hour), End: year.End}},
		{"year", year},
	} {
		b.Run(c.name, func(b *testing.B) {
			var d digest.Digest
			for b.Loop() {
				var err error
				if d, err = db.Store.DigestFacts(context.Background(), q(c.p)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(d.Events), "events/digest")
		})
	}
}

// seedMillion fills the database at url with requests and exactly 1,000,000
// audit events over 2025, as the workflow would write them (not hash-chained:
// the digest does not check the chain), and returns the year.
func seedMillion(b *testing.B, url string) digest.Period {
	b.Helper()
	const requests = 178_000
	year := digest.Period{Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	base := year.Start.UnixMicro()
	step := year.End.Sub(year.Start).Microseconds() / (requests + 1)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	// Request g: made at base + g·step; g%100 < 90 ran (g%10 = 3 partly
	// failed), < 95 denied, < 98 expired, else cancelled; g%1000 = 7 is a
	// manual step still open; g%200 = 0 has a privileged target, g%500 = 0
	// twelve targets.
	stmts := []string{
		fmt.Sprintf(`CREATE TEMP TABLE bench_req AS
			SELECT g, 'B' || g AS id, %d + g * %d AS c,
				(ARRAY['reset-password','require-reregister-mfa','revoke-mfa-sessions','delete-app-passwords',
					'issue-temporary-access-pass','block-sign-in','unblock-sign-in'])[g %% 7 + 1] AS action,
				'UREQ' || (g %% 50) AS requester, 'UAPP' || (g %% 40) AS approver,
				CASE WHEN g %% 1000 = 7 THEN 'open' WHEN g %% 100 < 90 THEN 'ran' WHEN g %% 100 < 95 THEN 'denied'
					WHEN g %% 100 < 98 THEN 'expired' ELSE 'cancelled' END AS kind
			FROM generate_series(1::bigint, %d) g`, base, step, requests),
		`INSERT INTO requests (id, requester_slack_id, requester_email, action, reason, state, created_at, expires_at,
				updated_at, approvals_needed, decided_by_slack_id, manual, version)
			SELECT id, requester, requester || '@example.com', action, 'benchmark',
				CASE kind WHEN 'open' THEN 'running' WHEN 'ran' THEN CASE WHEN g % 10 = 3 THEN 'partially_failed' ELSE 'succeeded' END
					ELSE kind END,
				c, c + 3600000000, c + 64000000, 1, CASE WHEN kind IN ('denied', 'cancelled') THEN approver ELSE '' END,
				kind = 'open', 1
			FROM bench_req`,
		`INSERT INTO request_targets (request_id, idx, slack_id, email, directory_id, privileged, outcome, detail, result_at)
			SELECT id, i, 'UT' || ((g * (i + 1) * 7) % 5000), 'ut' || ((g * (i + 1) * 7) % 5000) || '@example.com', 'd' || g || '-' || i,
				i = 0 AND g % 200 = 0,
				CASE WHEN kind <> 'ran' THEN NULL WHEN i = 1 AND g % 10 = 3 THEN 'failed' ELSE 'ok' END,
				CASE WHEN i = 1 AND g % 10 = 3 THEN 'graph: 503 service unavailable' ELSE '' END,
				CASE WHEN kind = 'ran' THEN c + 62000000 + i * 1000000 END
			FROM bench_req, generate_series(0, 11) i
			WHERE i < 2 OR g % 500 = 0`,
		// Every event of every request, in time order, as seq.
		`INSERT INTO audit_events (seq, "time", request_id, event, actor, action, target, outcome, detail, prev_hash, hash)
			SELECT row_number() OVER (ORDER BY t, id, k), t, id, ev, actor, action,
				CASE WHEN ev = 'target_result' THEN '{"slack_id":"UT' || g || '","email":"t@example.com","directory_id":"d"}' END,
				outcome, detail, '', md5(id || '/' || k) || md5(k || '/' || id)
			FROM bench_req r, LATERAL (VALUES
				(0, 'created', c, requester, '', 'reason: benchmark'),
				(1, CASE kind WHEN 'denied' THEN 'denied' WHEN 'expired' THEN 'expired' WHEN 'cancelled' THEN 'cancelled' ELSE 'approved' END,
					c + 60000000, CASE WHEN kind = 'expired' THEN 'mfadesk' WHEN kind = 'cancelled' THEN requester ELSE approver END, '', ''),
				(2, CASE WHEN kind IN ('ran', 'open') THEN 'started' END, c + 61000000, 'mfadesk', '', ''),
				(3, CASE WHEN kind = 'ran' THEN 'target_result' END, c + 62000000, 'mfadesk', 'ok', ''),
				(4, CASE WHEN kind = 'ran' THEN 'target_result' END, c + 63000000, 'mfadesk',
					CASE WHEN g % 10 = 3 THEN 'failed' ELSE 'ok' END, CASE WHEN g % 10 = 3 THEN 'graph: 503 service unavailable' ELSE '' END),
				(5, CASE WHEN kind = 'ran' THEN 'completed' END, c + 64000000, 'mfadesk',
					CASE WHEN g % 10 = 3 THEN 'partially_failed' ELSE 'succeeded' END, '')
			) e(k, ev, t, actor, outcome, detail)
			WHERE ev IS NOT NULL`,
	}
	for _, s := range stmts {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			b.Fatalf("seed: %v\n%s", err, s)
		}
	}
	// Refused clicks, spread over the year, up to exactly 1,000,000 events.
	var n int64
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n > 1_000_000 {
		b.Fatalf("seed: %d events, more than 1,000,000", n)
	}
	fill := fmt.Sprintf(`INSERT INTO audit_events (seq, "time", request_id, event, actor, action, detail, prev_hash, hash)
		SELECT %d + g, %d + g * %d, '', 'refused', 'UREQ' || (g %% 50), 'reset-password', 'not allowed', '', md5('refused/' || g) || md5(g || '/refused')
		FROM generate_series(1, %d) g`, n, year.End.UnixMicro()-1_000_000_000, 1000, 1_000_000-n)
	for _, s := range []string{fill,
		`UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_events), hash = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1)`,
		`ANALYZE`} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return year
}
