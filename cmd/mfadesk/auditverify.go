package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
)

// verifyResult is what `audit verify` found.
type verifyResult struct {
	count     int64    // events that checked out
	statedSeq int64    // the seq of --head, 0 when not found or not asked
	problems  []string // what is broken, one line each
}

// maxUnclosed is how many incomplete requests verify names at most.
const maxUnclosed = 20

// verifyAudit checks the audit log of st: the hash chain from the first
// event up to the database's recorded head (so that events cut from the end
// are found), that the chain ends exactly at that head, that every request
// in a final state has its created and closing events, and, when stated is
// not "", that the chain holds that hash. Events appended while it runs,
// after the head it read, are left for the next run. Errors are failures
// to read; what is broken comes back in problems.
// The log is read in segments side by side, as split says.
func verifyAudit(ctx context.Context, st *storage.Store, stated string, split verifySplit) (verifyResult, error) {
	var res verifyResult
	headSeq, headHash, err := st.AuditHead(ctx)
	if err != nil {
		return res, err
	}
	// The requests' check reads other rows on a connection of its own:
	// running it beside the walk uses what the walk leaves idle.
	type unclosedResult struct {
		list []storage.UnclosedRequest
		err  error
	}
	unclosedDone := make(chan unclosedResult, 1)
	go func() {
		list, err := st.UnclosedRequests(ctx, maxUnclosed)
		unclosedDone <- unclosedResult{list, err}
	}()
	// The stated head is looked for in every segment; at most one holds
	// it, since hashes are unique.
	var statedSeq atomic.Int64
	segments := split.segments(headSeq)
	sources := make([]actions.EventSource, len(segments))
	for i, sg := range segments {
		sources[i] = func(ctx context.Context, yield func(actions.Event) error) error {
			return st.StreamEvents(ctx, sg.after, sg.upTo, func(e actions.Event) error {
				if stated != "" && e.Hash == stated {
					statedSeq.Store(e.Seq)
				}
				return yield(e)
			})
		}
	}
	count, last, err := actions.VerifySegments(ctx, runtime.GOMAXPROCS(0), sources)
	res.statedSeq = statedSeq.Load()
	unclosed := <-unclosedDone
	var ce *actions.ChainError
	if errors.As(err, &ce) {
		res.problems = append(res.problems, ce.Error())
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.count = count
	switch {
	case count < headSeq:
		res.problems = append(res.problems, fmt.Sprintf(
			"the log ends at event %d, but the database's recorded head is event %d (%s): events %d to %d were cut from the end",
			count, headSeq, short(headHash), count+1, headSeq))
	case last != headHash:
		res.problems = append(res.problems, fmt.Sprintf(
			"event %d's hash %s is not the database's recorded head %s: the last event was replaced", count, short(last), short(headHash)))
	}
	if unclosed.err != nil {
		return res, unclosed.err
	}
	for _, u := range unclosed.list {
		missing := make([]string, len(u.Missing))
		for i, k := range u.Missing {
			missing[i] = "`" + string(k) + "`"
		}
		res.problems = append(res.problems, fmt.Sprintf("request %s is %s, but the log lacks its %s event", u.ID, u.State, strings.Join(missing, " and ")))
	}
	if len(unclosed.list) == maxUnclosed {
		res.problems = append(res.problems, fmt.Sprintf("(only the first %d such requests are named)", maxUnclosed))
	}
	if stated != "" && res.statedSeq == 0 {
		if count == 0 {
			res.problems = append(res.problems, fmt.Sprintf("the audit log is empty, so head %s is not in it: is MFADESK_DATABASE_URL the database the digest was made from?", stated))
		} else {
			res.problems = append(res.problems, fmt.Sprintf("head %s is not in the chain of %d events: the chain was rewritten since it was stated", stated, count))
		}
	}
	return res, nil
}

// segment is the events with after < seq <= upTo.
type segment struct{ after, upTo int64 }

// verifySplit says how `audit verify` splits the log into segments to read
// side by side, each on its own connection: reading rows is most of the
// work, and one connection reads on one core.
type verifySplit struct {
	parts int   // at most this many segments
	least int64 // of at least this many events each
}

// defaultSplit reads a segment per core, when the log is long enough for
// the split to pay.
func defaultSplit() verifySplit { return verifySplit{parts: runtime.GOMAXPROCS(0), least: 50_000} }

// segments splits the events up to headSeq.
func (v verifySplit) segments(headSeq int64) []segment {
	parts := int(max(1, min(int64(v.parts), headSeq/max(v.least, 1))))
	out := make([]segment, parts)
	for i := range out {
		out[i] = segment{after: headSeq * int64(i) / int64(parts), upTo: headSeq * int64(i+1) / int64(parts)}
	}
	return out
}

// short is the first 12 hex digits of a hash, enough to tell it in a message.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	if hash == "" {
		return "(none)"
	}
	return hash
}
