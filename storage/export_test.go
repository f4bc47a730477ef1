package storage

import (
	"errors"

	"github.com/mfadesk/mfadesk/actions"
)

// EventsCopySQL is the COPY statement StreamEvents runs on PostgreSQL.
var EventsCopySQL = eventsCopySQL

// DecodeEventsCopy decodes a binary COPY of audit events handed over in the
// given pieces, as pgconn hands it to StreamEvents.
func DecodeEventsCopy(pieces [][]byte, yield func(actions.Event) error) error {
	r := &copyReader{yield: yield}
	for _, p := range pieces {
		if _, err := r.Write(p); err != nil {
			if r.yieldErr != nil {
				return r.yieldErr
			}
			return err
		}
	}
	if !r.done || len(r.buf) > 0 {
		return errors.New("the copy ended early")
	}
	return nil
}
