package actions

import (
	"errors"
	"time"
)

// Lease returns the claim an executor hands to Store.ClaimNext: an approved
// request starts (with its started event), and owner holds the request
// until until. It refuses an empty owner.
func Lease(owner string, now, until time.Time) func(Request) (Request, []Event, error) {
	return func(cur Request) (Request, []Event, error) {
		if owner == "" {
			return cur, nil, errors.New("lease: empty owner")
		}
		next, events := cur.Clone(), []Event(nil)
		if cur.State == StateApproved {
			var err error
			if next, events, err = cur.Start(now); err != nil {
				return cur, nil, err
			}
		}
		next.LeaseOwner, next.LeaseUntil, next.UpdatedAt = owner, until, now
		return next, events, nil
	}
}
