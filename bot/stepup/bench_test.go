package stepup_test

import (
	"net/http"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// BenchmarkStepUpRoundTrip times one step-up approval end to end on SQLite:
// the link issued, opened, the provider's sign-in, the code exchanged, the
// ID token verified and the approval recorded (each iteration approves a
// new request).
func BenchmarkStepUpRoundTrip(b *testing.B) {
	st := storagetest.New(b, storage.DialectSQLite).Store
	e := newEnv(b, st, envOpts{})
	for b.Loop() {
		b.StopTimer()
		r, err := e.svc.Submit(b.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword,
			Targets: []actions.Person{target}, Reason: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		e.req = r
		b.StartTimer()
		br := newBrowser(b)
		_, id := br.open(e.link(approver))
		if p := br.signIn(e.idp, id, withMFA); p.status != http.StatusOK {
			b.Fatalf("%d %s", p.status, p.body)
		}
	}
}
